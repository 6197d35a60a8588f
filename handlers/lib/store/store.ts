/** DynamoDB access for the handlers: clients, the conditional put, and fault classification. */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { EventRecord } from "../events/record";
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

export class EventRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Stores `record` unless an item with its id exists; then returns that item instead. */
  async putNew(record: EventRecord): Promise<PutOutcome> {
    const key = EVENTS_TABLE.partitionKey.name;
    let retried = false;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
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
    const existing = Item as EventRecord;
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
    return Item as EventRecord | undefined;
  }

  /**
   * Stores up to 25 records in one unconditional BatchWriteItem call. Only for records with fresh
   * random ids (no idempotency key): no other write can name such an id, so a put can only ever
   * meet an earlier attempt of itself, and rewriting identical bytes is harmless. A record that may
   * already be stored and changed since (acknowledged) must go through `putNew` instead.
   */
  async putBatch(records: readonly EventRecord[]): Promise<BatchPutOutcome> {
    if (records.length > BATCH_WRITE_MAX_ITEMS) throw new Error(`putBatch takes at most ${BATCH_WRITE_MAX_ITEMS} records, got ${records.length}`);
    const output = await this.doc.send(
      new BatchWriteCommand({ RequestItems: { [this.tableName]: records.map((record) => ({ PutRequest: { Item: record } })) } }),
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
