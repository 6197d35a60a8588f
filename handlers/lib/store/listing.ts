/**
 * Listing from the sharded status index: one Query stream per `<status>#<shard>` partition,
 * merged by `created_at` (k-way merge, pages fetched lazily and in parallel), resumable through an
 * opaque cursor that records, per shard, how far the client has seen it.
 *
 * The merge hands out the best buffered item as soon as no other shard can still hold an earlier
 * one: a shard with an empty buffer only holds back items that come after the point it has been
 * read to (the last evaluated key of its last Query, or its cursor position). So a buffered match
 * is never held back by another shard's filtered-out pages once those pages have passed it, and a
 * buffered item that was not handed out is read again on the next page (the cursor records the
 * last item handed out), never skipped. Each request stays within a budget of Query calls and read
 * units (ADR 0022); at the budget the page ends with a cursor, possibly with fewer items than
 * asked for, or none.
 *
 * The index holds every attribute a page returns except an encoded payload (ADR 0035): the page's
 * events stored with one are read from the table in one BatchGetItem and decoded by the
 * repository. A page also ends, with a cursor, before its payloads pass `listMaxPageBytes`, so a
 * response stays inside Lambda's 6 MB (at least one event per page).
 */
import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { decodeCursor, encodeCursor, type CursorState, type ShardPosition } from "./cursor";
import { LIMITS } from "../primitives/limits";
import { dynamoItemSize, isEncoded, statusShardKey, type EventRecord, type EventStatus } from "../events/record";
import { EventRepository } from "./store";
import type { PayloadObjects } from "./payloadObjects";
import { EVENTS_TABLE, STATUS_INDEX } from "../primitives/tables";

export interface ListQuery {
  statuses: readonly EventStatus[];
  eventType?: string;
  limit: number;
  order: "newest" | "oldest";
  cursor?: string;
}

export interface ListPage {
  items: EventRecord[];
  nextCursor: string | null;
  /** What the page cost: Query calls and read units (DynamoDB's ConsumedCapacity). */
  queries: number;
  readUnits: number;
  /** True when the budget ended the page before `limit` items or the end of the listing. */
  budgetReached: boolean;
}

/** Per request: Query calls and read units after which no further Query starts. */
export interface ListBudget {
  /** At least one Query per shard is always allowed, so every request makes progress. */
  maxQueries: number;
  maxReadUnits: number;
  /** Payload bytes after which no further event joins the page. */
  maxPageBytes?: number;
}

type SortPosition = { createdAt: string; eventId: string };

interface ShardStream {
  key: string;
  /** Where the client's view of this shard ends (what the next cursor records). */
  position: ShardPosition;
  buffer: EventRecord[];
  /** Where the next Query starts; undefined with `fetchedAll` means nothing more to read. */
  startKey: Record<string, unknown> | undefined;
  fetchedAll: boolean;
  /** Everything of this shard up to here has been read (buffered, handed out or filtered out). */
  readTo: SortPosition | undefined;
}

export const DEFAULT_LIST_BUDGET: ListBudget = { maxQueries: LIMITS.listMaxQueries, maxReadUnits: LIMITS.listMaxReadUnits, maxPageBytes: LIMITS.listMaxPageBytes };

export class EventLister {
  private readonly repository: EventRepository;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shardCount: number,
    private readonly budget: ListBudget = DEFAULT_LIST_BUDGET,
    payloadObjects?: PayloadObjects,
  ) {
    this.repository = new EventRepository(doc, tableName, payloadObjects);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const keys = query.statuses.flatMap((status) => Array.from({ length: this.shardCount }, (_, n) => statusShardKey(status, n)));
    const fingerprint = JSON.stringify({ s: query.statuses, t: query.eventType ?? null, o: query.order });
    const state: CursorState = query.cursor
      ? decodeCursor(query.cursor, fingerprint, keys)
      : { shards: Object.fromEntries(keys.map((k) => [k, "start" as const])) };
    const streams: ShardStream[] = keys.map((key) => this.openStream(key, state.shards[key]!));

    const newestFirst = query.order === "newest";
    const before = (a: EventRecord, b: EventRecord): boolean => {
      const c = a.created_at === b.created_at ? compare(a.event_id, b.event_id) : compare(a.created_at, b.created_at);
      return newestFirst ? c > 0 : c < 0;
    };
    // Strictly before in created_at: a shard's unread items may share the created_at of its read point.
    const strictlyBefore = (item: EventRecord, point: SortPosition): boolean =>
      newestFirst ? item.created_at > point.createdAt : item.created_at < point.createdAt;
    const pageSize = this.pageSize(query, streams.length);
    const maxQueries = Math.max(this.budget.maxQueries, streams.length);
    const cost = { queries: 0, readUnits: 0 };

    const items: EventRecord[] = [];
    const maxPageBytes = this.budget.maxPageBytes ?? Number.POSITIVE_INFINITY;
    let pageBytes = 0;
    let budgetReached = false;
    while (items.length < query.limit) {
      let best: ShardStream | undefined;
      for (const s of streams) if (s.buffer.length > 0 && (!best || before(s.buffer[0]!, best.buffer[0]!))) best = s;
      const candidate = best?.buffer[0];
      const blocking = streams.filter((s) => s.buffer.length === 0 && !s.fetchedAll && !(candidate && s.readTo && strictlyBefore(candidate, s.readTo)));
      if (blocking.length === 0) {
        if (!best) break; // every shard is exhausted
        const bytes = payloadBytes(best.buffer[0]!);
        if (items.length > 0 && pageBytes + bytes > maxPageBytes) {
          budgetReached = true;
          break;
        }
        pageBytes += bytes;
        const item = best.buffer.shift()!;
        best.position = { after: { createdAt: item.created_at, eventId: item.event_id } };
        items.push(item);
        continue;
      }
      const affordable = this.affordableQueries(blocking.length, maxQueries, cost);
      if (affordable <= 0) {
        budgetReached = true;
        break;
      }
      cost.queries += affordable;
      await Promise.all(blocking.slice(0, affordable).map((s) => this.readPage(s, query, pageSize, cost)));
    }

    // A shard with nothing left in its buffer has shown the client everything up to where it was
    // read (handed out or filtered out); a shard with items left resumes after its last handed-out one.
    for (const s of streams) {
      if (s.buffer.length === 0) s.position = s.fetchedAll ? "done" : s.readTo ? { after: s.readTo } : s.position;
    }
    const more = streams.some((s) => s.position !== "done");
    return {
      items: await this.withPayloads(items, cost),
      nextCursor: more ? encodeCursor({ shards: Object.fromEntries(streams.map((s) => [s.key, s.position])) }, fingerprint) : null,
      queries: cost.queries,
      readUnits: cost.readUnits,
      budgetReached,
    };
  }

  /** The page's index items, those with an encoded payload replaced by the decoded table item. */
  private async withPayloads(items: EventRecord[], cost: { readUnits: number }): Promise<EventRecord[]> {
    const encoded = items.filter((item) => isEncoded(item as unknown as Record<string, unknown>)).map((item) => item.event_id);
    if (encoded.length === 0) return items;
    const full = await this.repository.findMany(encoded, cost);
    // An event deleted (TTL) between the Query and the read is left out, as if listed a moment later.
    return items.flatMap((item) => (isEncoded(item as unknown as Record<string, unknown>) ? (full.has(item.event_id) ? [full.get(item.event_id)!] : []) : [item]));
  }

  /**
   * How many of the blocking shards the next round may read: all of them in the first round (so
   * every request makes progress), then within the Query budget and as many as the read units left
   * cover at the average cost of the Queries so far.
   */
  private affordableQueries(blocking: number, maxQueries: number, cost: { queries: number; readUnits: number }): number {
    if (cost.queries === 0) return blocking;
    const left = this.budget.maxReadUnits - cost.readUnits;
    const perQuery = cost.readUnits / cost.queries;
    const byReadUnits = perQuery > 0 ? Math.floor(left / perQuery) : blocking;
    return Math.max(0, Math.min(blocking, maxQueries - cost.queries, byReadUnits));
  }

  private openStream(key: string, position: ShardPosition): ShardStream {
    const after = typeof position === "object" ? position.after : undefined;
    return {
      key,
      position,
      buffer: [],
      startKey: after ? this.startKey(key, after) : undefined,
      fetchedAll: position === "done",
      readTo: after,
    };
  }

  /**
   * Items per Query: about `2 × limit / shards` for a plain listing (a page of 25 over 8 shards
   * reads ~50 index items, not 200); at least 25 with an event_type filter, whose pages are
   * mostly filtered out (read units are charged for what a Query reads, not what it returns).
   */
  private pageSize(query: ListQuery, streams: number): number {
    const plain = Math.min(query.limit, Math.max(5, Math.ceil((2 * query.limit) / streams)));
    return query.eventType === undefined ? plain : Math.max(plain, LIMITS.listFilteredPageSize);
  }

  private startKey(shardKey: string, after: SortPosition): Record<string, unknown> {
    return {
      [EVENTS_TABLE.partitionKey.name]: after.eventId,
      [STATUS_INDEX.partitionKey.name]: shardKey,
      [STATUS_INDEX.sortKey.name]: after.createdAt,
    };
  }

  private async readPage(stream: ShardStream, query: ListQuery, pageSize: number, cost: { readUnits: number }): Promise<void> {
    const filtered = query.eventType !== undefined;
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: STATUS_INDEX.name,
        KeyConditionExpression: "#shard = :shard",
        ...(filtered ? { FilterExpression: "#type = :type" } : {}),
        ExpressionAttributeNames: { "#shard": STATUS_INDEX.partitionKey.name, ...(filtered ? { "#type": "event_type" } : {}) },
        ExpressionAttributeValues: { ":shard": stream.key, ...(filtered ? { ":type": query.eventType } : {}) },
        ScanIndexForward: query.order === "oldest",
        Limit: pageSize,
        ReturnConsumedCapacity: "TOTAL",
        ...(stream.startKey ? { ExclusiveStartKey: stream.startKey } : {}),
      }),
    );
    cost.readUnits += result.ConsumedCapacity?.CapacityUnits ?? 0;
    stream.buffer.push(...((result.Items ?? []) as EventRecord[]));
    stream.startKey = result.LastEvaluatedKey;
    stream.fetchedAll = result.LastEvaluatedKey === undefined;
    if (result.LastEvaluatedKey) {
      const key = result.LastEvaluatedKey as Record<string, string>;
      stream.readTo = { createdAt: key[STATUS_INDEX.sortKey.name]!, eventId: key[EVENTS_TABLE.partitionKey.name]! };
    }
  }
}

/** An index item's payload bytes: recorded for an encoded payload, else the map's DynamoDB size. */
function payloadBytes(item: EventRecord): number {
  const recorded = (item as unknown as { payload_bytes?: number }).payload_bytes;
  return recorded ?? dynamoItemSize({ payload: item.payload });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
