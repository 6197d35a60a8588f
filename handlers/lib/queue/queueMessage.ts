/**
 * The ingest queue's message: one enriched event record in a versioned envelope,
 * `{"v":1,"record":{...}}`, written with the lossless JSON writer (a payload number beyond a
 * double's precision keeps every digit) and read back with the strict reader.
 *
 * The processor trusts nothing in a message: it re-validates the client's part with the request
 * schema, the server-owned part with the schema below, the fingerprint against the content and
 * the item size against DynamoDB's limit. A message that fails any check can never be stored, so
 * it is a permanent failure (the processor sends it on to the dead-letter queue).
 */
import * as z from "zod/mini";
import { EVENT_ID_PATTERN, shardOf } from "../primitives/ids";
import { JsonInputError, NumberValue, readJson, writeJson, type JsonValue } from "../primitives/json";
import { AWS_LIMITS, LIMITS } from "../primitives/limits";
import { decodePayload, dynamoItemSize, requestFingerprint, SCHEMA_VERSION, statusShardKey, storedItem, type EventRecord } from "../events/record";
import { EventInputSchema, IdempotencyKeySchema, schemaErrors } from "../events/schema";
import { STATUS_INDEX } from "../primitives/tables";

export const QUEUE_MESSAGE_VERSION = 1;
/** SQS's limit on one message body, and on the bodies of one SendMessageBatch together. */
export const QUEUE_MESSAGE_MAX_BYTES = AWS_LIMITS.sqsMessageBytes;
/** The envelope is level 1, the record 2, so the payload (level 3) may nest as deep as in a request. */
const MESSAGE_MAX_DEPTH = LIMITS.maxPayloadDepth + 2;

/**
 * SQS refuses message bodies with characters outside #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
 * #x10000-#x10FFFF. JSON text escapes the controls already; U+FFFE and U+FFFF are valid JSON but
 * not valid SQS, so they travel as `\ufffe` escapes (they can only occur inside strings).
 */
const NOT_SQS_SAFE = /[\uFFFE\uFFFF]/g;

/**
 * The message for a record: `{"v":1,"record":{...}}`; when that passes SQS's 1 MiB, version 2
 * carries the payload as the stored form does (ADR 0035), brotli of its JSON text, base64:
 * `{"v":2,"record":{...without payload},"payload_br":"..."}` (a GitHub delivery shrinks ~6×).
 */
export function encodeQueueMessage(record: EventRecord): string {
  const plain = writeJson({ v: QUEUE_MESSAGE_VERSION, record }).replace(NOT_SQS_SAFE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  if (Buffer.byteLength(plain, "utf8") <= QUEUE_MESSAGE_MAX_BYTES) return plain;
  const item = storedItem(record);
  if (item.payload_br === undefined) return plain;
  const { payload: _payload, ...rest } = record;
  const compressed = { v: COMPRESSED_MESSAGE_VERSION, record: rest, payload_br: Buffer.from(item.payload_br).toString("base64") };
  return writeJson(compressed).replace(NOT_SQS_SAFE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A message whose payload travels compressed (see encodeQueueMessage). */
export const COMPRESSED_MESSAGE_VERSION = 2;

/** Server-owned attributes, as buildEventRecord sets them on a new event. */
const EnrichmentSchema = z.object({
  event_id: z.string().check(z.regex(EVENT_ID_PATTERN, "must be an event id")),
  created_at: z.iso.datetime(),
  received_at: z.iso.datetime(),
  request_id: z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.record(z.string(), z.string()),
  status: z.literal("pending"),
  delivery_attempts: z.literal(0),
  delivered_at: z.null(),
  ttl: z.optional(z.number().check(z.int(), z.positive())),
  schema_version: z.literal(SCHEMA_VERSION),
  [STATUS_INDEX.partitionKey.name]: z.string().check(z.regex(/^pending#\d+$/, "must be pending#<shard>")),
  idempotency_key: z.optional(IdempotencyKeySchema),
  request_sha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest"))),
});

const INPUT_FIELDS = ["event_type", "payload", "metadata", "occurred_at"] as const;

export type DecodedMessage = { ok: true; record: EventRecord } | { ok: false; reason: string; detail: string };

/**
 * The record in a message body, or why it can never be stored. `claimCheck`: the processor's store
 * takes payloads of any size (ADR 0035), so DynamoDB's item limit is not a reason to refuse.
 */
export function decodeQueueMessage(body: string, statusIndexShards: number, options: { claimCheck?: boolean } = {}): DecodedMessage {
  let document: JsonValue;
  try {
    document = readJson(body, { maxDepth: MESSAGE_MAX_DEPTH });
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    return { ok: false, reason: error.code, detail: `${error.message} at ${error.pointer || "/"}` };
  }
  if (isObject(document) && document.v === COMPRESSED_MESSAGE_VERSION && isObject(document.record) && typeof document.payload_br === "string" && Object.keys(document).length === 3 && !("payload" in document.record)) {
    try {
      document = { v: QUEUE_MESSAGE_VERSION, record: { ...document.record, payload: decodePayload(Buffer.from(document.payload_br, "base64")) as JsonValue } };
    } catch (error) {
      return { ok: false, reason: "invalid_payload_encoding", detail: `payload_br is not brotli-compressed JSON: ${(error as Error).message}` };
    }
  }
  if (!isObject(document) || document.v !== QUEUE_MESSAGE_VERSION || !isObject(document.record) || Object.keys(document).length !== 2) {
    return { ok: false, reason: "unknown_envelope", detail: `expected {"v":${QUEUE_MESSAGE_VERSION},"record":{...}} or {"v":${COMPRESSED_MESSAGE_VERSION},"record":{...},"payload_br":"..."}` };
  }
  const record = document.record;
  const input = EventInputSchema.safeParse(pick(record, INPUT_FIELDS));
  if (!input.success) return { ok: false, reason: "invalid_event", detail: describeErrors(schemaErrors(input.error), "/record") };
  const enrichment = EnrichmentSchema.safeParse(omit(record, INPUT_FIELDS));
  if (!enrichment.success) return { ok: false, reason: "invalid_enrichment", detail: describeErrors(schemaErrors(enrichment.error), "/record") };
  const unknown = Object.keys(record).filter((k) => !(INPUT_FIELDS as readonly string[]).includes(k) && !(k in EnrichmentSchema.def.shape));
  if (unknown.length > 0) return { ok: false, reason: "invalid_enrichment", detail: `unknown attributes ${unknown.join(", ")}` };

  const typed = record as unknown as EventRecord;
  // The fingerprint comes with an idempotency key (it tells a repeat from a reused key) and only then.
  if ((typed.idempotency_key === undefined) !== (typed.request_sha256 === undefined)) {
    return { ok: false, reason: "invalid_enrichment", detail: "request_sha256 and idempotency_key go together" };
  }
  if (typed.request_sha256 !== undefined && requestFingerprint(input.data) !== typed.request_sha256) {
    return { ok: false, reason: "fingerprint_mismatch", detail: "request_sha256 does not match the event's content" };
  }
  const shardKey = (typed as unknown as Record<string, string>)[STATUS_INDEX.partitionKey.name];
  if (shardKey !== statusShardKey("pending", shardOf(typed.event_id, statusIndexShards))) {
    return { ok: false, reason: "invalid_enrichment", detail: `${STATUS_INDEX.partitionKey.name} does not match the event id and ${statusIndexShards} shards` };
  }
  const itemBytes = options.claimCheck ? 0 : dynamoItemSize(record);
  if (itemBytes > LIMITS.maxItemBytes) {
    return { ok: false, reason: "item_too_large", detail: `the item would be ${itemBytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}` };
  }
  return { ok: true, record: typed };
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof NumberValue);
}

function pick(record: Record<string, JsonValue>, keys: readonly string[]): Record<string, JsonValue> {
  return Object.fromEntries(keys.filter((k) => k in record).map((k) => [k, record[k]!]));
}

function omit(record: Record<string, JsonValue>, keys: readonly string[]): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.includes(k)));
}

function describeErrors(errors: { pointer: string; detail: string }[], prefix: string): string {
  return errors
    .slice(0, 5)
    .map((e) => `${prefix}${e.pointer}: ${e.detail}`)
    .join("; ");
}
