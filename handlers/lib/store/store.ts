/**
 * DynamoDB access for the handlers: clients, the conditional put, reads, and the stored form of an
 * event (ADR 0035). Every write and read of an event goes through EventRepository, so records are
 * encoded (compressed, claim-checked to S3) and decoded in one place and every caller sees the
 * payload exactly as it was sent.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, type BatchGetCommandOutput, BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  CLAIM_CHECK_MIN_ITEM_BYTES,
  claimChecked,
  claimCheckedItem,
  dynamoItemSize,
  payloadDigest,
  payloadObjectKeyFor,
  recordFromItem,
  storedItem,
  type EventRecord,
  type StoredItem,
} from "../events/record";
import { LIMITS } from "../primitives/limits";
import type { PayloadObjects } from "./payloadObjects";
import { EVENTS_TABLE } from "../primitives/tables";
import { errorName } from "../primitives/faults";
import { wrapImpreciseNumber } from "../primitives/json";

/**
 * Three attempts with short per-attempt timeouts, so the worst case (about 3 × 2 s plus backoff)
 * ends well inside the 10 s function timeout and the client gets a 503 rather than a Lambda timeout.
 * `throwOnRequestTimeout`: without it the SDK's HTTP handler only logs a warning when
 * `requestTimeout` passes and keeps waiting, so an unanswered request would outlive the function.
 * The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when set (the local stack sets it).
 */
export const DYNAMODB_CLIENT_DEFAULTS: DynamoDBClientConfig = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true },
  logger: quietLogger(),
};

/**
 * The SDK's logger middleware calls `logger.info?.({ input: redact(input), output: redact(output) })`
 * after every call, so even its default no-op logger makes it walk and copy the whole request to
 * redact it (a few % of a 25-item batch write's CPU, docs/BENCHMARKS.md). A logger without `info`
 * skips that walk; nothing was ever logged there. Warnings and errors are dropped as by the default.
 */
function quietLogger(): NonNullable<DynamoDBClientConfig["logger"]> {
  const drop = () => {};
  return { debug: drop, warn: drop, error: drop } as unknown as NonNullable<DynamoDBClientConfig["logger"]>;
}

export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...DYNAMODB_CLIENT_DEFAULTS, ...config }), {
    // allowImpreciseNumbers: the marshaller otherwise throws (→ 500) on a plain number beyond ±2^53
    // such as 1e20. Only exact doubles arrive as plain numbers (the JSON reader wraps the rest in
    // NumberValue), so nothing is rounded by letting them through.
    marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
    // Payload numbers beyond a double's precision come back with every digit (see json.ts).
    unmarshallOptions: { wrapNumbers: wrapImpreciseNumber },
  });
}

export type PutOutcome = { created: true } | { created: false; existing: EventRecord };

/** BatchWriteItem's limit of put requests per call. */
export const BATCH_WRITE_MAX_ITEMS = 25;

/** What one BatchWriteItem call came to. */
export interface BatchPutOutcome {
  /** The records DynamoDB did not write this time (throttled); the rest are stored. */
  unprocessed: EventRecord[];
  /** The SDK sent the call more than once, so an earlier attempt may have written any of them. */
  retried: boolean;
}

/**
 * A payload already written to the claim check's bucket, as a queue message names it (ADR 0043):
 * its key, the SHA-256 of the object's (compressed) bytes, their count, and the JSON text's bytes.
 */
export interface PayloadObjectRef {
  key: string;
  sha256: string;
  bytes: number;
  payload_bytes: number;
}

/** BatchGetItem's limit of keys per call. */
export const BATCH_GET_MAX_KEYS = 100;

/**
 * An event whose stored form exceeds DynamoDB's item limit and no object store to claim-check it
 * (a repository built without one); writers check sizes first (eventWriter's `prepare`).
 */
export class ItemTooLargeError extends Error {
  override readonly name = "ItemTooLarge";
  constructor(readonly bytes: number) {
    super(`the stored event would be ${bytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}`);
  }
}

export class EventRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    /** Where payloads too large for an item go (the claim check); without it they are refused. */
    private readonly payloadObjects?: PayloadObjects,
  ) {}

  /** Whether events of any size up to the API's limits can be stored (an object store is configured). */
  get claimCheck(): boolean {
    return this.payloadObjects !== undefined;
  }

  /**
   * The item for a record: compressed above the threshold, and beyond CLAIM_CHECK_MIN_ITEM_BYTES
   * (DynamoDB's item limit without a claim check) its payload written to S3 first, under a key of its id and content, so no item ever names an
   * object that is not there (ADR 0035).
   */
  private async toItem(record: EventRecord, written?: PayloadObjectRef): Promise<StoredItem> {
    if (written) return claimCheckedItem(record, written.key, written.payload_bytes);
    const item = storedItem(record);
    if (item.payload_br === undefined) return item;
    const bytes = dynamoItemSize(item as Record<string, unknown>);
    if (bytes <= (this.payloadObjects ? CLAIM_CHECK_MIN_ITEM_BYTES : LIMITS.maxItemBytes)) return item;
    if (!this.payloadObjects) {
      // A payload brotli cannot shrink may still fit as a map.
      if (dynamoItemSize(record as unknown as Record<string, unknown>) <= LIMITS.maxItemBytes) return record;
      throw new ItemTooLargeError(bytes);
    }
    const { key } = await this.putPayloadObject(record.event_id, item.payload_br, item.payload_bytes!);
    return claimChecked(item, key);
  }

  /** Writes compressed payload bytes under the event's key (the one writer of payload objects). */
  private async putPayloadObject(eventId: string, compressed: Uint8Array, payloadBytes: number): Promise<PayloadObjectRef> {
    const sha256 = payloadDigest(compressed);
    const key = payloadObjectKeyFor(eventId, sha256);
    await this.payloadObjects!.put(key, compressed);
    return { key, sha256, bytes: compressed.byteLength, payload_bytes: payloadBytes };
  }

  /**
   * Queued mode (ADR 0043): writes the record's payload object exactly as a direct write would
   * (compressed, same key) before the message that names it is sent, so the message stays small and
   * the processor stores an item naming this same object. Throws PayloadObjectWriteError on a fault.
   */
  async writePayloadObject(record: EventRecord): Promise<PayloadObjectRef> {
    if (!this.payloadObjects) throw new Error("writePayloadObject needs a payload object store (the claim check)");
    const item = storedItem(record);
    if (item.payload_br === undefined) throw new Error(`event ${record.event_id}: a payload under ${item.payload_bytes ?? "the compression threshold"} bytes is never claim-checked`);
    return this.putPayloadObject(record.event_id, item.payload_br, item.payload_bytes!);
  }

  /** A payload object's bytes, refused unread when larger than `maxBytes` (PayloadObjectUnreadableError). */
  async readPayloadObject(key: string, maxBytes: number): Promise<Uint8Array> {
    if (!this.payloadObjects) throw new Error("readPayloadObject needs a payload object store (the claim check)");
    return this.payloadObjects.get(key, { maxBytes });
  }

  /** The record an item holds, its claim-checked payload fetched from S3. */
  async decode(item: StoredItem): Promise<EventRecord> {
    if (item.payload_object === undefined || item.payload_br !== undefined) return recordFromItem(item);
    if (!this.payloadObjects) throw new Error(`event ${item.event_id} is claim-checked but no payload object store is configured`);
    return recordFromItem(item, await this.payloadObjects.get(item.payload_object));
  }

  /**
   * Stores `record` unless an item with its id exists; then returns that item instead. With
   * `written`, the payload is already in that object (queued mode, ADR 0043): the item names it.
   */
  async putNew(record: EventRecord, written?: PayloadObjectRef): Promise<PutOutcome> {
    const key = EVENTS_TABLE.partitionKey.name;
    const item = await this.toItem(record, written);
    let retried = false;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": key },
        }),
      );
      return { created: true };
    } catch (error) {
      if (errorName(error) !== "ConditionalCheckFailedException") throw error;
      retried = ((error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;
    }
    // dynalite does not implement ReturnValuesOnConditionCheckFailure, so read the winner back.
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [key]: record.event_id }, ConsistentRead: true }),
    );
    if (!Item) throw new Error("conditional put failed but the item is not there");
    const stored = Item as StoredItem;
    if (item.payload_object !== undefined && stored.payload_object !== item.payload_object) {
      // Another request holds the id: the object this one wrote is named by no item. Removing it is
      // tidiness, not safety (the lifecycle rule expires it), so a failure here changes nothing.
      await this.payloadObjects!.delete(item.payload_object).catch(() => {});
    }
    const existing = await this.decode(stored);
    // An earlier attempt of this very put can be stored although its answer was lost (a timeout);
    // the SDK's retry then fails on our own write, which is a creation, not a duplicate.
    if (retried && isSameWrite(existing, record)) return { created: true };
    return { created: false, existing };
  }

  /** The stored event with this id, if any (a consistent read). */
  async find(eventId: string): Promise<EventRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [EVENTS_TABLE.partitionKey.name]: eventId }, ConsistentRead: true }),
    );
    return Item ? this.decode(Item as StoredItem) : undefined;
  }

  /**
   * The type of the stored event with this id, if any (a consistent read of the item's
   * `event_type` alone): for callers that act on an event without its payload, e.g. a replay, so
   * a claim-checked payload is never fetched from S3.
   */
  async typeOf(eventId: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [EVENTS_TABLE.partitionKey.name]: eventId },
        ConsistentRead: true,
        ProjectionExpression: "event_type",
      }),
    );
    return typeof Item?.event_type === "string" ? Item.event_type : undefined;
  }

  /**
   * The stored events with these ids (eventually consistent BatchGetItem, 100 keys per call, keys
   * DynamoDB leaves unprocessed asked again), decoded; absent ids are missing from the map. `cost`
   * collects the read units consumed.
   */
  async findMany(eventIds: readonly string[], cost?: { readUnits: number }): Promise<Map<string, EventRecord>> {
    const key = EVENTS_TABLE.partitionKey.name;
    const items: StoredItem[] = [];
    for (let i = 0; i < eventIds.length; i += BATCH_GET_MAX_KEYS) {
      let keys: Record<string, unknown>[] | undefined = eventIds.slice(i, i + BATCH_GET_MAX_KEYS).map((id) => ({ [key]: id }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1_000, 50 * 2 ** attempt)));
        if (attempt > 5) throw Object.assign(new Error("BatchGetItem left keys unprocessed after 5 retries"), { name: "ThrottlingException" });
        const output: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } }, ReturnConsumedCapacity: "TOTAL" }));
        if (cost) cost.readUnits += output.ConsumedCapacity?.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) ?? 0;
        items.push(...((output.Responses?.[this.tableName] ?? []) as StoredItem[]));
        keys = output.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    const records = await Promise.all(items.map((item) => this.decode(item)));
    return new Map(records.map((record) => [record.event_id, record]));
  }

  /**
   * Stores up to 25 records in one unconditional BatchWriteItem call. Only for records with fresh
   * random ids (no idempotency key): no other write can name such an id, so a put can only ever
   * meet an earlier attempt of itself, and rewriting identical bytes is harmless. A record that may
   * already be stored and changed since (acknowledged) must go through `putNew` instead.
   */
  async putBatch(records: readonly EventRecord[]): Promise<BatchPutOutcome> {
    if (records.length > BATCH_WRITE_MAX_ITEMS) throw new Error(`putBatch takes at most ${BATCH_WRITE_MAX_ITEMS} records, got ${records.length}`);
    const items = await Promise.all(records.map((record) => this.toItem(record)));
    const output = await this.doc.send(
      new BatchWriteCommand({ RequestItems: { [this.tableName]: items.map((item) => ({ PutRequest: { Item: item } })) } }),
    );
    const key = EVENTS_TABLE.partitionKey.name;
    const left = new Set((output.UnprocessedItems?.[this.tableName] ?? []).map((request) => request.PutRequest?.Item?.[key] as string));
    return { unprocessed: records.filter((record) => left.has(record.event_id)), retried: (output.$metadata.attempts ?? 1) > 1 };
  }
}

/** The stored item is `record` as this request wrote it: same request, same instant, same content. */
function isSameWrite(existing: EventRecord, record: EventRecord): boolean {
  return existing.request_id === record.request_id && existing.created_at === record.created_at && existing.request_sha256 === record.request_sha256;
}
