/**
 * Listing from the sharded status index: one Query stream per `<status>#<shard>` partition,
 * merged by `created_at` (k-way merge, pages fetched lazily and in parallel), resumable through an
 * opaque cursor that records, per shard, the last item handed out.
 */
import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { decodeCursor, encodeCursor, type CursorState, type ShardPosition } from "./cursor";
import { statusShardKey, type EventRecord, type EventStatus } from "./record";
import { EVENTS_TABLE, STATUS_INDEX } from "./tables";

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
}

interface ShardStream {
  key: string;
  /** Where the client's view of this shard ends (what the next cursor records). */
  position: ShardPosition;
  buffer: EventRecord[];
  /** Where the next Query starts; undefined with `fetchedAll` means nothing more to read. */
  startKey: Record<string, unknown> | undefined;
  fetchedAll: boolean;
}

/** Bounds the Query pages a filtered shard may read for one refill (each page ≤ 1 MB). */
const MAX_EMPTY_PAGES = 10;

export class EventLister {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shardCount: number,
  ) {}

  async list(query: ListQuery): Promise<ListPage> {
    const keys = query.statuses.flatMap((status) => Array.from({ length: this.shardCount }, (_, n) => statusShardKey(status, n)));
    const fingerprint = JSON.stringify({ s: query.statuses, t: query.eventType ?? null, o: query.order });
    const state: CursorState = query.cursor
      ? decodeCursor(query.cursor, fingerprint, keys)
      : { shards: Object.fromEntries(keys.map((k) => [k, "start" as const])) };

    const streams: ShardStream[] = keys.map((key) => {
      const position = state.shards[key]!;
      return {
        key,
        position,
        buffer: [],
        startKey: typeof position === "object" ? this.startKey(key, position.after) : undefined,
        fetchedAll: position === "done",
      };
    });
    const pageSize = Math.min(query.limit, Math.max(5, Math.ceil((2 * query.limit) / streams.length)));
    const newestFirst = query.order === "newest";
    const before = (a: EventRecord, b: EventRecord): boolean => {
      const c = a.created_at === b.created_at ? compare(a.event_id, b.event_id) : compare(a.created_at, b.created_at);
      return newestFirst ? c > 0 : c < 0;
    };

    const items: EventRecord[] = [];
    while (items.length < query.limit) {
      await Promise.all(streams.filter((s) => s.buffer.length === 0 && !s.fetchedAll).map((s) => this.refill(s, query, pageSize)));
      // A shard whose filter matched nothing in MAX_EMPTY_PAGES pages may still hold an earlier
      // item; end this page rather than risk handing out items out of order.
      if (streams.some((s) => s.buffer.length === 0 && !s.fetchedAll)) break;
      let best: ShardStream | undefined;
      for (const s of streams) if (s.buffer.length > 0 && (!best || before(s.buffer[0]!, best.buffer[0]!))) best = s;
      if (!best) break;
      const item = best.buffer.shift()!;
      best.position = { after: { createdAt: item.created_at, eventId: item.event_id } };
      items.push(item);
    }

    for (const s of streams) if (s.buffer.length === 0 && s.fetchedAll) s.position = "done";
    const more = streams.some((s) => s.position !== "done");
    return {
      items,
      nextCursor: more ? encodeCursor({ shards: Object.fromEntries(streams.map((s) => [s.key, s.position])) }, fingerprint) : null,
    };
  }

  private startKey(shardKey: string, after: { createdAt: string; eventId: string }): Record<string, unknown> {
    return {
      [EVENTS_TABLE.partitionKey.name]: after.eventId,
      [STATUS_INDEX.partitionKey.name]: shardKey,
      [STATUS_INDEX.sortKey.name]: after.createdAt,
    };
  }

  private async refill(stream: ShardStream, query: ListQuery, pageSize: number): Promise<void> {
    for (let page = 0; page < MAX_EMPTY_PAGES && stream.buffer.length === 0 && !stream.fetchedAll; page++) {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: STATUS_INDEX.name,
          KeyConditionExpression: "#shard = :shard",
          ...(query.eventType === undefined ? {} : { FilterExpression: "#type = :type" }),
          ExpressionAttributeNames: {
            "#shard": STATUS_INDEX.partitionKey.name,
            ...(query.eventType === undefined ? {} : { "#type": "event_type" }),
          },
          ExpressionAttributeValues: {
            ":shard": stream.key,
            ...(query.eventType === undefined ? {} : { ":type": query.eventType }),
          },
          ScanIndexForward: query.order === "oldest",
          Limit: pageSize,
          ...(stream.startKey ? { ExclusiveStartKey: stream.startKey } : {}),
        }),
      );
      stream.buffer.push(...((result.Items ?? []) as EventRecord[]));
      stream.startKey = result.LastEvaluatedKey;
      stream.fetchedAll = result.LastEvaluatedKey === undefined;
      if (stream.buffer.length === 0 && result.LastEvaluatedKey) {
        // Everything up to here was filtered out: the client has seen all of it that matches.
        const key = result.LastEvaluatedKey as Record<string, string>;
        stream.position = { after: { createdAt: key[STATUS_INDEX.sortKey.name]!, eventId: key[EVENTS_TABLE.partitionKey.name]! } };
      }
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
