/**
 * The delivery log and the delivery fields of an event. Per event, the deliveries table holds one
 * state item per matching subscription (`sub#<name>`: pending, delivered or failed, the current
 * webhook-id and its generation, the count of real attempts) and one item per attempt
 * (`attempt#<name>#<iso time>#<n>`), all expiring through `ttl`. The event's own `status`,
 * `delivered_at` and `delivery_attempts` are derived from them (docs/adr/0031) and written here, and
 * only here, with conditional updates that touch nothing else of the event.
 *
 * Storage calls are amortized over the deliverer's SQS batch (docs/adr/0041): one BatchGetItem
 * reads every message's state item and event, then per message one conditional update counts the
 * attempt (and settles the state on a 2xx) and one conditional update writes the event's fields,
 * and one BatchWriteItem writes the whole batch's attempt items: about 2.2 calls per successful
 * delivery in a batch of ten. The states Query that decides `delivered` is left out when the
 * dispatcher recorded that the event matched this subscription alone. The deliverer sends its
 * per-message updates through `cachedUpdates` (a plain client whose stack is resolved once).
 */
import { UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, BatchWriteCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { errorName } from "../primitives/faults";
import { shardOf } from "../primitives/ids";
import { DELIVERIES_TABLE, EVENTS_TABLE, STATUS_INDEX } from "../primitives/tables";
import { statusShardKey, type EventRecord, type EventStatus, type StoredItem } from "../events/record";
import { BATCH_GET_MAX_KEYS, BATCH_WRITE_MAX_ITEMS, type EventRepository } from "../store/store";
import { webhookIdOf } from "./signing";
import type { AttemptResult } from "./sender";

export type DeliveryState = "pending" | "delivered" | "failed";

export interface SubscriptionState {
  event_id: string;
  subscription: string;
  state: DeliveryState;
  webhook_id: string;
  /** 0 for the first delivery; the replay's time (epoch ms) for a replay. */
  generation: number;
  /** Real attempts, over every generation. */
  attempts: number;
  /** Attempts of the current generation (its webhook-id): what the schedule counts. */
  tries: number;
  replays?: number;
  /**
   * How many subscriptions the dispatcher matched the event to (fixed at dispatch). Absent on items
   * a replay created and on items written before it was recorded: then the states must be read.
   */
  matched?: number;
  last_attempt_at?: string;
  delivered_at?: string;
  failed_at?: string;
}

/** One attempt, as GET /events/{id}/deliveries returns it. */
export interface AttemptRecord {
  subscription: string;
  webhook_id: string;
  attempt: number;
  attempted_at: string;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  response_body: string;
}

/** An attempt's item in the deliveries table. */
export type AttemptItem = Record<string, unknown>;

const SUB = "sub#";
/** Calls per batch before what DynamoDB leaves unprocessed counts as failed. */
const BATCH_ROUNDS = 4;
const backoff = (round: number) => new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));

/** The key of one (event, subscription) pair in the maps `statesAndEvents` returns. */
export function pairKey(eventId: string, subscription: string): string {
  return `${eventId}\u0000${subscription}`;
}
const ATTEMPT = "attempt#";
const PK = DELIVERIES_TABLE.partitionKey.name;
const SK = DELIVERIES_TABLE.sortKey!.name;
/** An item's key in the deliveries table, as one string (two puts of one key in a BatchWriteItem are refused). */
const itemKey = (item: Record<string, unknown>): string => `${String(item[PK])}\u0000${String(item[SK])}`;

export function stateKey(eventId: string, subscription: string): Record<string, string> {
  return { [PK]: eventId, [SK]: `${SUB}${subscription}` };
}

/**
 * Sends one UpdateItem (document-shaped input and attributes). The deliverer's per-message
 * conditional updates go through `cachedUpdates` (docs/adr/0041); everything else, and every other
 * caller, through the document client.
 */
export type UpdateSender = (input: UpdateCommandInput) => Promise<{ Attributes?: Record<string, unknown> }>;

/** Updates through the document client (lib-dynamodb marshalling, the stack resolved per call). */
export function documentUpdates(doc: DynamoDBDocumentClient): UpdateSender {
  return (input) => doc.send(new UpdateCommand(input));
}

/**
 * Updates through a plain DynamoDBClient created with `cacheMiddleware: true`: the SDK resolves
 * the UpdateItem command's middleware stack once instead of per call, which `lib-dynamodb`'s
 * commands cannot use (their handler would keep the first command's input, docs/adr/0041). The
 * key, the values and the returned attributes are marshalled here with the document client's
 * options. Only for this client's own UpdateItemCommands: nothing may change its middleware stack.
 */
export function cachedUpdates(client: DynamoDBClient): UpdateSender {
  return async (input) => {
    const { Key, ExpressionAttributeValues, ...rest } = input;
    const output = await client.send(
      new UpdateItemCommand({
        ...rest,
        Key: marshall(Key, MARSHALL),
        ...(ExpressionAttributeValues ? { ExpressionAttributeValues: marshall(ExpressionAttributeValues, MARSHALL) } : {}),
      }),
    );
    return output.Attributes ? { Attributes: unmarshall(output.Attributes) } : {};
  };
}
const MARSHALL = { removeUndefinedValues: true, allowImpreciseNumbers: true } as const;

export interface DeliveryLogOptions {
  doc: DynamoDBDocumentClient;
  /** The per-message conditional updates. @default documentUpdates(doc) */
  updates?: UpdateSender;
  deliveriesTable: string;
  /** How long items are kept. */
  logDays: number;
  now?: () => number;
}

export class DeliveryLog {
  private readonly now: () => number;
  private readonly update: UpdateSender;
  constructor(private readonly options: DeliveryLogOptions) {
    this.now = options.now ?? Date.now;
    this.update = options.updates ?? documentUpdates(options.doc);
  }

  private ttl(): number {
    return Math.floor(this.now() / 1000) + this.options.logDays * 86_400;
  }

  /**
   * The dispatcher's write: the subscription's state item, created pending with generation 0 unless
   * it exists (a stream record seen twice, or a replay already under way); returns the state as it is.
   * `matched`: how many subscriptions the event matched (kept from the first dispatch).
   */
  async ensurePending(eventId: string, subscription: string, eventType: string, matched: number): Promise<SubscriptionState> {
    const { Attributes } = await this.options.doc.send(
      new UpdateCommand({
        TableName: this.options.deliveriesTable,
        Key: stateKey(eventId, subscription),
        UpdateExpression:
          "SET #state = if_not_exists(#state, :pending), webhook_id = if_not_exists(webhook_id, :wid), generation = if_not_exists(generation, :zero), " +
          "attempts = if_not_exists(attempts, :zero), tries = if_not_exists(tries, :zero), matched = if_not_exists(matched, :matched), subscription = :sub, event_type = :type, " +
          "created_at = if_not_exists(created_at, :now), #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames: { "#state": "state", "#ttl": DELIVERIES_TABLE.ttlAttribute! },
        ExpressionAttributeValues: {
          ":pending": "pending",
          ":wid": webhookIdOf(eventId, subscription, 0),
          ":zero": 0,
          ":matched": matched,
          ":sub": subscription,
          ":type": eventType,
          ":now": new Date(this.now()).toISOString(),
          ":ttl": this.ttl(),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes as SubscriptionState;
  }

  /**
   * A replay's write: the subscription's state goes back to pending under a new generation and
   * webhook-id (created if the event was never dispatched to it, e.g. stored before it existed);
   * the attempt history stays. Returns the new state.
   */
  async restart(eventId: string, subscription: string, eventType: string): Promise<SubscriptionState> {
    const generation = this.now();
    const { Attributes } = await this.options.doc.send(
      new UpdateCommand({
        TableName: this.options.deliveriesTable,
        Key: stateKey(eventId, subscription),
        UpdateExpression:
          "SET #state = :pending, webhook_id = :wid, generation = :gen, tries = :zero, attempts = if_not_exists(attempts, :zero), subscription = :sub, event_type = :type, " +
          "created_at = if_not_exists(created_at, :now), #ttl = :ttl, replayed_at = :now ADD replays :one",
        ExpressionAttributeNames: { "#state": "state", "#ttl": DELIVERIES_TABLE.ttlAttribute! },
        ExpressionAttributeValues: {
          ":pending": "pending",
          ":wid": webhookIdOf(eventId, subscription, generation),
          ":gen": generation,
          ":zero": 0,
          ":one": 1,
          ":sub": subscription,
          ":type": eventType,
          ":now": new Date(this.now()).toISOString(),
          ":ttl": this.ttl(),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes as SubscriptionState;
  }

  /**
   * The deliverer's one read per batch: the state items of every (event, subscription) pair of an
   * SQS batch and their events, in BatchGetItem calls across both tables with consistent reads (one
   * call for a batch of ten: at most 20 keys of the 100 a call takes), keys deduplicated. Keys
   * DynamoDB leaves unprocessed are asked again with backoff (a few times, then it throws and the
   * batch comes back). Missing items are missing from the maps; events are returned as stored, for
   * each message to decode on its own.
   */
  async statesAndEvents(
    pairs: readonly { eventId: string; subscription: string }[],
    events: Pick<EventRepository, "tableName">,
  ): Promise<{ states: Map<string, SubscriptionState>; events: Map<string, StoredItem> }> {
    const eventKey = EVENTS_TABLE.partitionKey.name;
    const keys = new Map<string, { table: string; key: Record<string, unknown> }>();
    for (const { eventId, subscription } of pairs) {
      keys.set(pairKey(eventId, subscription), { table: this.options.deliveriesTable, key: stateKey(eventId, subscription) });
      keys.set(`event\u0000${eventId}`, { table: events.tableName, key: { [eventKey]: eventId } });
    }
    const states = new Map<string, SubscriptionState>();
    const stored = new Map<string, StoredItem>();
    const all = [...keys.values()];
    const chunks: (typeof all)[] = [];
    for (let at = 0; at < all.length; at += BATCH_GET_MAX_KEYS) chunks.push(all.slice(at, at + BATCH_GET_MAX_KEYS));
    await Promise.all(
      chunks.map(async (chunk) => {
        let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }> | undefined = {};
        for (const { table, key } of chunk) (request[table] ??= { Keys: [], ConsistentRead: true }).Keys.push(key);
        for (let round = 0; request && Object.keys(request).length > 0; round++) {
          if (round === BATCH_ROUNDS) throw new Error(`BatchGetItem left keys unprocessed ${BATCH_ROUNDS} times`);
          if (round > 0) await backoff(round);
          const output = await this.options.doc.send(new BatchGetCommand({ RequestItems: request }));
          for (const item of output.Responses?.[this.options.deliveriesTable] ?? []) {
            states.set(pairKey(String(item[PK]), String(item[SK]).slice(SUB.length)), item as SubscriptionState);
          }
          for (const item of output.Responses?.[events.tableName] ?? []) stored.set(String(item[eventKey]), item as StoredItem);
          request = output.UnprocessedKeys as typeof request;
        }
      }),
    );
    return { states, events: stored };
  }

  /** Every subscription's state for an event (a consistent read). */
  async states(eventId: string): Promise<SubscriptionState[]> {
    return (await this.query(eventId, SUB)) as unknown as SubscriptionState[];
  }

  /** Every attempt for an event, oldest first within each subscription; at most `limit`. */
  async attempts(eventId: string, limit = 1000): Promise<AttemptRecord[]> {
    const items = await this.query(eventId, ATTEMPT, limit);
    return items.map((item) => ({
      subscription: String(item.subscription),
      webhook_id: String(item.webhook_id),
      attempt: Number(item.attempt),
      attempted_at: String(item.attempted_at),
      ok: item.ok === true,
      status_code: typeof item.status_code === "number" ? item.status_code : null,
      error: typeof item.error === "string" ? item.error : null,
      latency_ms: Number(item.latency_ms),
      response_body: typeof item.response_body === "string" ? item.response_body : "",
    }));
  }

  /**
   * Counts one attempt in the state item and returns its number within the current delivery (every
   * attempt in `attempts`, the current webhook-id's in `tries`). An attempt of a delivery a replay
   * superseded meanwhile still counts in `attempts`. The attempt's own item is the caller's to
   * write (`attemptItem`, `writeAttempts`: one BatchWriteItem for a whole SQS batch).
   */
  async countStateAttempt(eventId: string, subscription: string, webhookId: string, at: string): Promise<number> {
    try {
      const { Attributes } = await this.update(
        {
          TableName: this.options.deliveriesTable,
          Key: stateKey(eventId, subscription),
          UpdateExpression: "SET last_attempt_at = :at ADD attempts :one, tries :one",
          ConditionExpression: "webhook_id = :wid",
          ExpressionAttributeValues: { ":at": at, ":one": 1, ":wid": webhookId },
          ReturnValues: "UPDATED_NEW",
        },
      );
      return Number(Attributes?.tries ?? 1);
    } catch (error) {
      if (errorName(error) !== "ConditionalCheckFailedException") throw error;
      const { Attributes } = await this.update(
        {
          TableName: this.options.deliveriesTable,
          Key: stateKey(eventId, subscription),
          UpdateExpression: "ADD attempts :one",
          ExpressionAttributeValues: { ":one": 1 },
          ReturnValues: "UPDATED_NEW",
        },
      );
      return Number(Attributes?.attempts ?? 1);
    }
  }

  /**
   * A successful attempt of the current delivery, counted and settled in one conditional write
   * (condition: still this webhook-id, still pending): `attempts` and `tries` grow by one, the state
   * becomes delivered. Returns the attempt's number (its `tries`, from the updated attributes alone:
   * UPDATED_NEW, not the whole item), or
   * undefined when a replay superseded the delivery or a duplicate receive settled it meanwhile;
   * then nothing was written and the caller counts the attempt with `countStateAttempt` instead.
   * The attempt's own item is written with the batch's others (`writeAttempts`).
   */
  async settleDelivered(eventId: string, subscription: string, webhookId: string, at: string): Promise<{ attempt: number } | undefined> {
    try {
      const { Attributes } = await this.update(
        {
          TableName: this.options.deliveriesTable,
          Key: stateKey(eventId, subscription),
          UpdateExpression: "SET #state = :delivered, delivered_at = :at, last_attempt_at = :at ADD attempts :one, tries :one",
          ConditionExpression: "webhook_id = :wid AND #state = :pending",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":delivered": "delivered", ":at": at, ":one": 1, ":wid": webhookId, ":pending": "pending" },
          ReturnValues: "UPDATED_NEW",
        },
      );
      return { attempt: Number(Attributes?.tries ?? 1) };
    } catch (error) {
      if (errorName(error) === "ConditionalCheckFailedException") return undefined;
      throw error;
    }
  }

  /** The item of one attempt, as GET /events/{id}/deliveries returns it (written by `writeAttempts`). */
  attemptItem(eventId: string, subscription: string, webhookId: string, attempt: number, at: string, result: AttemptResult): AttemptItem {
    return {
      [PK]: eventId,
      [SK]: `${ATTEMPT}${subscription}#${at}#${attempt}`,
      subscription,
      webhook_id: webhookId,
      attempt,
      attempted_at: at,
      ok: result.ok,
      ...(result.status === undefined ? {} : { status_code: result.status }),
      ...(result.error === undefined ? {} : { error: result.error }),
      latency_ms: result.latencyMs,
      response_body: result.body,
      [DELIVERIES_TABLE.ttlAttribute!]: this.ttl(),
    };
  }

  /**
   * Writes attempt items (unconditional puts) with BatchWriteItem, 25 per call, the calls
   * concurrent, asking again for what DynamoDB leaves unprocessed with backoff (a few rounds).
   * Never throws: returns the items that were not written (a call that failed, or items still
   * unprocessed after the last round), for the caller to report. Items with the same key (two
   * attempts in the same millisecond with the same number, which one BatchWriteItem refuses) keep
   * the last, as two PutItems would.
   */
  async writeAttempts(items: readonly AttemptItem[]): Promise<Set<AttemptItem>> {
    const byKey = new Map<string, AttemptItem>();
    for (const item of items) byKey.set(itemKey(item), item);
    const unique = [...byKey.values()];
    const unwritten = new Set<AttemptItem>();
    const chunks: AttemptItem[][] = [];
    for (let at = 0; at < unique.length; at += BATCH_WRITE_MAX_ITEMS) chunks.push(unique.slice(at, at + BATCH_WRITE_MAX_ITEMS));
    const table = this.options.deliveriesTable;
    await Promise.all(
      chunks.map(async (chunk) => {
        let left: AttemptItem[] = chunk;
        try {
          for (let round = 0; left.length > 0 && round < BATCH_ROUNDS; round++) {
            if (round > 0) await backoff(round);
            const output = await this.options.doc.send(new BatchWriteCommand({ RequestItems: { [table]: left.map((Item) => ({ PutRequest: { Item } })) } }));
            const unprocessed = (output.UnprocessedItems?.[table] ?? []).map((request) => request.PutRequest?.Item);
            const keysLeft = new Set(unprocessed.flatMap((item) => (item ? [itemKey(item)] : [])));
            left = left.filter((item) => keysLeft.has(itemKey(item)));
          }
        } catch {
          // The call failed as a whole (after the SDK's own retries): nothing of `left` is known written.
        }
        for (const item of left) unwritten.add(item);
      }),
    );
    // A duplicate dropped above shares its fate with the item of its key that was sent.
    for (const item of items) if (!unwritten.has(item) && unwritten.has(byKey.get(itemKey(item))!)) unwritten.add(item);
    return unwritten;
  }

  /**
   * After the last attempt failed: the current delivery becomes failed; false when a replay
   * superseded it or it was already settled. (A success settles through `settleDelivered`.)
   */
  async settleFailed(eventId: string, subscription: string, webhookId: string): Promise<boolean> {
    try {
      await this.update(
        {
          TableName: this.options.deliveriesTable,
          Key: stateKey(eventId, subscription),
          UpdateExpression: "SET #state = :state, failed_at = :at",
          ConditionExpression: "webhook_id = :wid AND #state = :pending",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":state": "failed", ":at": new Date(this.now()).toISOString(), ":wid": webhookId, ":pending": "pending" },
        },
      );
      return true;
    } catch (error) {
      if (errorName(error) === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  private async query(eventId: string, prefix: string, limit = 1000): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.options.doc.send(
        new QueryCommand({
          TableName: this.options.deliveriesTable,
          KeyConditionExpression: "#pk = :id AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
          ExpressionAttributeValues: { ":id": eventId, ":prefix": prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit);
  }
}

/**
 * The delivery fields of an event in the events table: `status` (with its status-index shard),
 * `delivered_at` and `delivery_attempts`. Every update is conditional on the event existing, so a
 * late delivery never recreates an expired event as a fragment.
 */
export class EventDeliveryFields {
  private readonly updates: UpdateSender;
  constructor(
    doc: DynamoDBDocumentClient,
    private readonly eventsTable: string,
    private readonly statusIndexShards: number,
    private readonly now: () => number = Date.now,
    /** @default documentUpdates(doc) */
    updates?: UpdateSender,
  ) {
    this.updates = updates ?? documentUpdates(doc);
  }

  /** One real attempt was made. */
  async countAttempt(eventId: string): Promise<void> {
    await this.update(eventId, "ADD delivery_attempts :one", "attribute_exists(#id)", { ":one": 1 });
  }

  /**
   * Every matching subscription has delivered: pending becomes delivered; a replayed event stays
   * replayed and gets its time. `countingAttempt`: the attempt that delivered is counted in the same
   * write (and alone when the status is neither), so settling costs one update, not two.
   */
  async delivered(eventId: string, options: { countingAttempt?: boolean } = {}): Promise<void> {
    const count = options.countingAttempt === true;
    if (await this.deliveredFromPending(eventId, options)) return;
    const at = new Date(this.now()).toISOString();
    const counted = count ? { ":one": 1 } : {};
    if (await this.update(eventId, `SET delivered_at = :at${count ? " ADD delivery_attempts :one" : ""}`, "attribute_exists(#id) AND #status = :replayed", { ":at": at, ":replayed": "replayed", ...counted })) return;
    if (count) await this.countAttempt(eventId);
  }

  /** pending → delivered (with `delivered_at`, and the attempt counted when `countingAttempt`); false when the event is not pending. */
  async deliveredFromPending(eventId: string, options: { countingAttempt?: boolean } = {}): Promise<boolean> {
    return this.setStatus(eventId, "delivered", "#status = :pending", { ":pending": "pending" }, new Date(this.now()).toISOString(), options.countingAttempt === true);
  }

  /** A subscription exhausted its attempts. */
  async failed(eventId: string): Promise<void> {
    await this.setStatus(eventId, "failed", "#status <> :failed", { ":failed": "failed" });
  }

  /** A replay was requested. */
  async replayed(eventId: string): Promise<boolean> {
    return this.setStatus(eventId, "replayed", "attribute_exists(#id)", {});
  }

  private async setStatus(eventId: string, status: EventStatus, condition: string, values: Record<string, unknown>, deliveredAt?: string, countingAttempt = false): Promise<boolean> {
    return this.update(
      eventId,
      `SET #status = :status, #shard = :shard${deliveredAt ? ", delivered_at = :at" : ""}${countingAttempt ? " ADD delivery_attempts :one" : ""}`,
      `attribute_exists(#id) AND ${condition}`,
      {
        ...values,
        ":status": status,
        ":shard": statusShardKey(status, shardOf(eventId, this.statusIndexShards)),
        ...(deliveredAt ? { ":at": deliveredAt } : {}),
        ...(countingAttempt ? { ":one": 1 } : {}),
      },
    );
  }

  /** Runs one conditional update; false when its condition failed. */
  private async update(eventId: string, expression: string, condition: string, values: Record<string, unknown>): Promise<boolean> {
    const names: Record<string, string> = { "#id": EVENTS_TABLE.partitionKey.name };
    if (expression.includes("#status") || condition.includes("#status")) names["#status"] = "status";
    if (expression.includes("#shard")) names["#shard"] = STATUS_INDEX.partitionKey.name;
    try {
      await this.updates(
        {
          TableName: this.eventsTable,
          Key: { [EVENTS_TABLE.partitionKey.name]: eventId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      );
      return true;
    } catch (error) {
      if (errorName(error) === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}
