/**
 * The ingest queue's message: one enriched event record in a versioned envelope,
 * `{"v":1,"record":{...}}`, written with the lossless JSON writer (a payload number beyond a
 * double's precision keeps every digit) and read back with the strict reader.
 *
 * The processor trusts nothing in a message (anything that may sqs:SendMessage to the queue can
 * write one): it re-validates the client's part with the request schema and the payload against
 * maxEventBytes, the server-owned part with the schema below (own attribute names only; `source`
 * exactly one producer's shape), and rebuilds the record with buildEventRecord, the producers' own
 * builder, to check every derivation: the event id from the origin and idempotency key (or the
 * creation time it carries), the status shard, the fingerprint, the timestamps' bounds; `ttl` is
 * derived again. A message that fails any check can never be stored, so it is a permanent failure
 * (the processor sends it on to the dead-letter queue and counts it). docs/adr/0025 says why
 * messages are not signed.
 *
 * Three envelopes: v1 carries the record; v2 its payload brotli-compressed (ADR 0035); v3 names the
 * payload's object in the claim check's bucket, written by the ingest function before it sent the
 * message (ADR 0043), and the processor reads it back, checks it against the pointer and then
 * checks the record exactly as for v1.
 */
import * as z from "zod/mini";
import { EVENT_ID_PATTERN, eventIdTimeMs, idempotentEventId } from "../primitives/ids";
import { JsonInputError, minimalJsonBytes, NumberValue, readJson, writeJson, type JsonValue } from "../primitives/json";
import { AWS_LIMITS, LIMITS } from "../primitives/limits";
import {
  API_KEY_ID_PATTERN,
  buildEventRecord,
  canonicalJson,
  decodePayload,
  decodePayloadText,
  dynamoItemSize,
  payloadDigest,
  payloadObjectKeyFor,
  requestFingerprint,
  SCHEMA_VERSION,
  storedItem,
  WEBHOOK_SOURCE_NAME,
  type EventRecord,
  type EventSource,
} from "../events/record";
import { EventInputSchema, IdempotencyKeySchema, schemaErrors, type EventInput } from "../events/schema";
import type { CatalogVerdict } from "../events/catalog";
import { STATUS_INDEX } from "../primitives/tables";
import { INGEST_QUEUE } from "../../routes";
import { idempotencyNamespace } from "../store/eventWriter";
import type { PayloadObjectRef } from "../store/store";
import { PayloadObjectUnreadableError } from "../store/payloadObjects";

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
/** A message body as JSON text SQS accepts: those characters written as JSON escapes. */
const sqsSafeJson = (value: unknown): string => writeJson(value).replace(NOT_SQS_SAFE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/**
 * The message for a record: `{"v":1,"record":{...}}`; when that passes SQS's 1 MiB, version 2
 * carries the payload as the stored form does (ADR 0035), brotli of its JSON text, base64:
 * `{"v":2,"record":{...without payload},"payload_br":"..."}` (a GitHub delivery shrinks ~6×). With
 * `written` (the payload object already in the bucket, when even v2 would pass 1 MiB) version 3.
 */
export function encodeQueueMessage(record: EventRecord, written?: PayloadObjectRef): string {
  if (written) return encodeClaimCheckedMessage(record, written);
  const plain = sqsSafeJson({ v: QUEUE_MESSAGE_VERSION, record });
  if (Buffer.byteLength(plain, "utf8") <= QUEUE_MESSAGE_MAX_BYTES) return plain;
  const item = storedItem(record);
  if (item.payload_br === undefined) return plain;
  const { payload: _payload, ...rest } = record;
  const compressed = { v: COMPRESSED_MESSAGE_VERSION, record: rest, payload_br: Buffer.from(item.payload_br).toString("base64") };
  return sqsSafeJson(compressed);
}

/**
 * Version 3 (ADR 0043), for a record whose v2 message would still pass SQS's 1 MiB: the payload is
 * already in the claim check's bucket, and the message names it:
 * `{"v":3,"record":{...without payload},"payload_object":{"key","sha256","bytes","payload_bytes"}}`.
 */
function encodeClaimCheckedMessage(record: EventRecord, written: PayloadObjectRef): string {
  const { payload: _payload, ...rest } = record;
  const pointer = { key: written.key, sha256: written.sha256, bytes: written.bytes, payload_bytes: written.payload_bytes };
  return sqsSafeJson({ v: CLAIM_CHECKED_MESSAGE_VERSION, record: rest, payload_object: pointer });
}

/** A message whose payload is in the claim check's bucket (see encodeClaimCheckedMessage). */
export const CLAIM_CHECKED_MESSAGE_VERSION = 3;

/**
 * brotli's framing on incompressible input: a few bytes per 16 MiB meta-block (16 bytes measured on
 * 5 MiB of random bytes), so a payload within the body limit never compresses to more than this over it.
 */
const BROTLI_FRAMING_BYTES = 1024;

const PayloadPointerSchema = z.strictObject({
  key: z.string().check(z.maxLength(1024)),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest")),
  bytes: z.int().check(z.positive()),
  payload_bytes: z.int().check(z.positive()),
});

/**
 * Where a queued event may come from: exactly the two producers that may send to the ingest queue
 * (POST /events with an API key, and the webhook function). The SNS pipeline stores directly and
 * never sends here, so a `pipeline` source in a message is forged.
 */
const QueuedSourceSchema = z.union([
  z.strictObject({ api_key_id: z.string().check(z.regex(API_KEY_ID_PATTERN, "must be an API key id")) }),
  z.strictObject({
    webhook: z.string().check(z.regex(WEBHOOK_SOURCE_NAME, "must be a webhook source name")),
    delivery_id: z.optional(IdempotencyKeySchema),
  }),
]);

/** A message whose payload travels compressed (see encodeQueueMessage). */
export const COMPRESSED_MESSAGE_VERSION = 2;

/** Server-owned attributes, as buildEventRecord sets them on a new event; the derivations are checked below. */
const EnrichmentSchema = z.object({
  event_id: z.string().check(z.regex(EVENT_ID_PATTERN, "must be an event id")),
  created_at: z.iso.datetime(),
  received_at: z.iso.datetime(),
  // API Gateway's request id (base64 or a UUID): printable ASCII, no spaces.
  request_id: z.string().check(z.regex(/^[\x21-\x7e]{1,256}$/, "must be 1 to 256 printable ASCII characters")),
  source: QueuedSourceSchema,
  status: z.literal("pending"),
  delivery_attempts: z.literal(0),
  delivered_at: z.null(),
  ttl: z.optional(z.number().check(z.int(), z.positive())),
  schema_version: z.literal(SCHEMA_VERSION),
  [STATUS_INDEX.partitionKey.name]: z.string().check(z.regex(/^pending#\d+$/, "must be pending#<shard>")),
  idempotency_key: z.optional(IdempotencyKeySchema),
  request_sha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest"))),
  // The ingest function's catalogue verdict; the processor computes its own (decodeQueueMessage).
  catalog: z.optional(z.union([z.strictObject({ version: z.int().check(z.positive()), valid: z.boolean() }), z.strictObject({ declared: z.literal(false) })])),
  schema_violations: z.optional(z.array(z.strictObject({ pointer: z.string(), code: z.string(), detail: z.string() }))),
});

const INPUT_FIELDS = ["event_type", "payload", "metadata", "occurred_at"] as const;
/** Every attribute a record may have; checked as own names, so `toString` or `__proto__` is unknown. */
const RECORD_FIELDS: ReadonlySet<string> = new Set([...INPUT_FIELDS, ...Object.keys(EnrichmentSchema.def.shape)]);

/**
 * How far the producer's clock may be ahead of the processor's: `created_at` after now + this is
 * refused (an event from the future would top every listing).
 */
export const MESSAGE_CLOCK_SKEW_MS = 5 * 60_000;
/**
 * The oldest a message can legitimately be: its time in the ingest queue and then in the DLQ
 * (SQS counts a dead letter's age from its first enqueue) before one redrive. An older
 * `created_at` would also make the derived ttl expire at once.
 */
export const MESSAGE_MAX_AGE_MS = (INGEST_QUEUE.retentionSeconds + INGEST_QUEUE.deadLetterRetentionSeconds) * 1000 + MESSAGE_CLOCK_SKEW_MS;

/** What the processor checks a message against: the settings the producers enrich with. */
export interface MessageChecks {
  statusIndexShards: number;
  /** The producers' limit on an event body; the payload must fit it however it was written. */
  maxEventBytes: number;
  /** The webhook function's body limit (maxWebhookBytes), for events whose source is a webhook; maxEventBytes when unset. */
  maxWebhookBytes?: number;
  /** TTL horizon in days; undefined when TTL is off. The stored `ttl` is derived with it. */
  retentionDays?: number;
  /** The processor's clock, epoch ms. */
  nowMs: number;
  /** The processor's own run of the event catalogue: a refusal is permanent; its verdict is what is stored. */
  checkCatalog?: (input: EventInput) => CatalogVerdict;
  /** The processor's store has a payload bucket (ADR 0035): DynamoDB's item limit is then no reason to refuse. */
  claimCheck?: boolean;
}

/** A decoded record; `written` when its payload is in that S3 object already (v3), which the item must name. */
export type DecodedMessage = { ok: true; record: EventRecord; written?: PayloadObjectRef } | { ok: false; reason: string; detail: string };
type Refusal = Extract<DecodedMessage, { ok: false }>;

/** A message's envelope opened: the record (payload included, unless the message names an object). */
type Envelope = { ok: true; record: Record<string, JsonValue>; pointer?: PayloadObjectRef } | Refusal;

const refuse = (reason: string, detail: string): Refusal => ({ ok: false, reason, detail });

/**
 * The record in a message body, or why it can never be stored. The record returned is rebuilt by
 * buildEventRecord from the message's validated parts, and every attribute the message sent must
 * equal the rebuilt one (the event id, the status shard, the fingerprint, the timestamps' form),
 * except `ttl`, which is derived again from `created_at` with this function's retention, and the
 * catalogue's `catalog` / `schema_violations`, which are the processor's own verdict
 * (`checks.checkCatalog`, a run of the event catalogue on the event), never the message's.
 */
export function decodeQueueMessage(body: string, checks: MessageChecks): DecodedMessage {
  const envelope = readEnvelope(body);
  if (!envelope.ok) return envelope;
  if (envelope.pointer) return refuse("invalid_payload_object", "a version-3 message is decoded together with its payload object (decodeClaimCheckedMessage)");
  return checkRecord(envelope.record, checks);
}

/** Reads a claim-checked payload object, refusing one larger than `maxBytes` unread (the repository). */
export interface PayloadObjectReader {
  readPayloadObject(key: string, maxBytes: number): Promise<Uint8Array>;
}

/**
 * decodeQueueMessage for every version, v3 included: the object the message names is read and must
 * be exactly what the pointer says (its key under `events/<this event's id>/`, checked before any
 * read; at most `bytes`, which must fit the body limits compressed; the SHA-256 and the JSON text's
 * size), then its payload goes into the record and the record is checked as a v1 message's is. An
 * object that is absent or does not match is a permanent refusal (the message goes to the DLQ); a
 * fault reading it (throttling, 5xx) is thrown, so the message is retried.
 */
export async function decodeClaimCheckedMessage(body: string, checks: MessageChecks, objects: PayloadObjectReader | undefined): Promise<DecodedMessage> {
  const envelope = readEnvelope(body);
  if (!envelope.ok) return envelope;
  const { pointer } = envelope;
  if (!pointer) return checkRecord(envelope.record, checks);
  if (!checks.claimCheck || !objects) return refuse("invalid_payload_object", "the message names a payload object and this processor has no payload bucket");
  const maxBytes = Math.max(checks.maxEventBytes, checks.maxWebhookBytes ?? 0) + BROTLI_FRAMING_BYTES;
  if (pointer.bytes > maxBytes) return refuse("payload_too_large", `the payload object is ${pointer.bytes} bytes; a body within the limits compresses to at most ${maxBytes}`);
  let compressed: Uint8Array;
  try {
    compressed = await objects.readPayloadObject(pointer.key, pointer.bytes);
  } catch (error) {
    if (!(error instanceof PayloadObjectUnreadableError)) throw error;
    return refuse(error.reason === "missing" ? "payload_object_missing" : "payload_object_mismatch", error.message);
  }
  if (compressed.byteLength !== pointer.bytes || payloadDigest(compressed) !== pointer.sha256) {
    return refuse("payload_object_mismatch", `${pointer.key} is not the object the message names (${compressed.byteLength} bytes; its SHA-256 ${compressed.byteLength === pointer.bytes ? "differs" : "not compared"})`);
  }
  let decoded: { payload: Record<string, unknown>; bytes: number };
  try {
    decoded = decodePayloadText(compressed);
  } catch (error) {
    if (error instanceof JsonInputError) return refuse(error.code, `the payload object: ${error.message} at ${error.pointer || "/"}`);
    return refuse("invalid_payload_encoding", `${pointer.key} is not brotli-compressed JSON: ${(error as Error).message}`);
  }
  if (decoded.bytes !== pointer.payload_bytes) return refuse("payload_object_mismatch", `the payload's JSON text is ${decoded.bytes} bytes, not ${pointer.payload_bytes}`);
  const checked = checkRecord({ ...envelope.record, payload: decoded.payload as JsonValue }, checks);
  return checked.ok ? { ...checked, written: pointer } : checked;
}

/** The envelope of a message: v1 as it is, v2 with its payload decompressed, v3 with its pointer checked against the record's id. */
function readEnvelope(body: string): Envelope {
  let document: JsonValue;
  try {
    document = readJson(body, { maxDepth: MESSAGE_MAX_DEPTH });
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    return refuse(error.code, `${error.message} at ${error.pointer || "/"}`);
  }
  // A large event's payload travels compressed (envelope v2); it is unpacked here and then checked
  // exactly as a plain message is.
  if (
    isObject(document) &&
    document.v === COMPRESSED_MESSAGE_VERSION &&
    isObject(document.record) &&
    typeof document.payload_br === "string" &&
    Object.keys(document).length === 3 &&
    !Object.hasOwn(document.record, "payload")
  ) {
    try {
      document = { v: QUEUE_MESSAGE_VERSION, record: { ...document.record, payload: decodePayload(Buffer.from(document.payload_br, "base64")) as JsonValue } };
    } catch (error) {
      return refuse("invalid_payload_encoding", `payload_br is not brotli-compressed JSON: ${(error as Error).message}`);
    }
  }
  if (isObject(document) && document.v === CLAIM_CHECKED_MESSAGE_VERSION && isObject(document.record) && Object.keys(document).length === 3 && !Object.hasOwn(document.record, "payload")) {
    return readPointer(document.record, document.payload_object);
  }
  if (!isObject(document) || !Object.hasOwn(document, "record") || document.v !== QUEUE_MESSAGE_VERSION || !isObject(document.record) || Object.keys(document).length !== 2) {
    return refuse(
      "unknown_envelope",
      `expected {"v":${QUEUE_MESSAGE_VERSION},"record":{...}}, {"v":${COMPRESSED_MESSAGE_VERSION},"record":{...},"payload_br":"..."} or {"v":${CLAIM_CHECKED_MESSAGE_VERSION},"record":{...},"payload_object":{...}}`,
    );
  }
  return { ok: true, record: document.record };
}

/**
 * A v3 pointer, trusted no further than its form: the key must be the one the writer gives this
 * record's id and this digest (`events/<event_id>/<first 32 hex>.json.br`), so a message can name
 * neither an object outside `events/` nor another event's object.
 */
function readPointer(record: Record<string, JsonValue>, value: JsonValue | undefined): Envelope {
  const pointer = PayloadPointerSchema.safeParse(value);
  if (!pointer.success) return refuse("invalid_payload_object", describeErrors(schemaErrors(pointer.error), "/payload_object"));
  const eventId = record.event_id;
  if (typeof eventId !== "string" || !EVENT_ID_PATTERN.test(eventId)) return refuse("invalid_event_id", "/record/event_id: must be an event id");
  const expected = payloadObjectKeyFor(eventId, pointer.data.sha256);
  if (pointer.data.key !== expected) return refuse("invalid_payload_object", `/payload_object/key: must be ${expected}, the object of this event and digest`);
  return { ok: true, record, pointer: pointer.data };
}

/** The checks of a record, whichever envelope carried it (see decodeQueueMessage). */
function checkRecord(record: Record<string, JsonValue>, checks: MessageChecks): DecodedMessage {
  const unknown = Object.keys(record).filter((k) => !RECORD_FIELDS.has(k));
  if (unknown.length > 0) return refuse("invalid_enrichment", `unknown attributes ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  const input = EventInputSchema.safeParse(pick(record, INPUT_FIELDS));
  if (!input.success) return refuse("invalid_event", describeErrors(schemaErrors(input.error), "/record"));
  const enrichment = EnrichmentSchema.safeParse(omit(record, INPUT_FIELDS));
  if (!enrichment.success) return refuse("invalid_enrichment", describeErrors(schemaErrors(enrichment.error), "/record"));
  // The computed status-index key widens zod's inferred type; the schema checked these attributes.
  const sent = enrichment.data as unknown as Omit<EventRecord, (typeof INPUT_FIELDS)[number]>;

  // A webhook's body is its payload, limited by maxWebhookBytes; an API event's by maxEventBytes.
  const [limitName, limit] = Object.hasOwn(sent.source, "webhook") && checks.maxWebhookBytes !== undefined ? ["maxWebhookBytes", checks.maxWebhookBytes] : ["maxEventBytes", checks.maxEventBytes];
  const payloadBytes = minimalJsonBytes(input.data.payload);
  if (payloadBytes > limit) {
    return refuse("payload_too_large", `the payload is at least ${payloadBytes} bytes as JSON; the producers' limit (${limitName}) is ${limit}`);
  }
  // The fingerprint comes with an idempotency key (it tells a repeat from a reused key) and only then.
  if ((sent.idempotency_key === undefined) !== (sent.request_sha256 === undefined)) {
    return refuse("invalid_enrichment", "request_sha256 and idempotency_key go together");
  }
  if (sent.request_sha256 !== undefined && requestFingerprint(input.data) !== sent.request_sha256) {
    return refuse("fingerprint_mismatch", "request_sha256 does not match the event's content");
  }
  const source: EventSource = sent.source;
  if (Object.hasOwn(source, "webhook") && (source as { delivery_id?: string }).delivery_id !== sent.idempotency_key) {
    return refuse("invalid_enrichment", "a webhook delivery's idempotency_key is its source.delivery_id");
  }

  const createdMs = Date.parse(sent.created_at);
  const receivedMs = Date.parse(sent.received_at);
  if (createdMs > checks.nowMs + MESSAGE_CLOCK_SKEW_MS || createdMs < checks.nowMs - MESSAGE_MAX_AGE_MS) {
    return refuse("invalid_enrichment", `created_at ${sent.created_at} is not a time this message can have been produced at`);
  }
  if (receivedMs > createdMs + MESSAGE_CLOCK_SKEW_MS) return refuse("invalid_enrichment", "received_at is after created_at");
  // A fresh id carries its creation time (newEventId(now) with created_at = now); a keyed one is
  // derived from the origin's namespace and the key, so no message can take another key's id.
  const eventId =
    sent.idempotency_key === undefined ? sent.event_id : idempotentEventId(idempotencyNamespace(source), sent.idempotency_key);
  if (sent.idempotency_key === undefined ? eventIdTimeMs(sent.event_id) !== createdMs : eventId !== sent.event_id) {
    return refuse("invalid_event_id", `event_id is not the one its ${sent.idempotency_key === undefined ? "created_at" : "source and idempotency_key"} derive`);
  }

  const rebuilt = buildEventRecord(input.data, {
    eventId,
    nowMs: createdMs,
    receivedAtMs: receivedMs,
    requestId: sent.request_id,
    source,
    statusIndexShards: checks.statusIndexShards,
    ...(checks.retentionDays === undefined ? {} : { retentionDays: checks.retentionDays }),
    ...(sent.idempotency_key === undefined ? {} : { idempotencyKey: sent.idempotency_key }),
  });
  const shardKey = STATUS_INDEX.partitionKey.name;
  if (rebuilt.status_shard !== sent.status_shard) {
    return refuse("invalid_enrichment", `${shardKey} does not match the event id and ${checks.statusIndexShards} shards`);
  }
  // ttl, and the catalogue's verdict, are derived by this function, not compared.
  const { ttl: _sentTtl, catalog: _sentStamp, schema_violations: _sentViolations, ...sentWithoutTtl } = record;
  const { ttl: _rebuiltTtl, ...rebuiltWithoutTtl } = rebuilt;
  const differing = [...new Set([...Object.keys(sentWithoutTtl), ...Object.keys(rebuiltWithoutTtl)])].filter(
    (k) => canonicalJson((sentWithoutTtl as Record<string, unknown>)[k]) !== canonicalJson((rebuiltWithoutTtl as Record<string, unknown>)[k]),
  );
  if (differing.length > 0) return refuse("invalid_enrichment", `${differing.join(", ")} not as the producer derives ${differing.length === 1 ? "it" : "them"}`);

  // With a claim check (ADR 0035) the store takes a payload of any size; without one, the record must
  // fit an item as the producer measured it (eventWriter's prepare).
  const itemBytes = checks.claimCheck ? 0 : dynamoItemSize(rebuilt as unknown as Record<string, unknown>);
  if (itemBytes > LIMITS.maxItemBytes) {
    return refuse("item_too_large", `the item would be ${itemBytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}`);
  }
  if (checks.checkCatalog === undefined) return { ok: true, record: rebuilt };
  const verdict = checks.checkCatalog(input.data);
  if (!verdict.ok) return refuse(verdict.problem.code, describeErrors((verdict.problem.errors ?? []).map((e) => ({ pointer: e.pointer ?? "", detail: e.detail })), "/record"));
  return {
    ok: true,
    record: { ...rebuilt, ...(verdict.stamp === undefined ? {} : { catalog: verdict.stamp }), ...(verdict.violations === undefined ? {} : { schema_violations: verdict.violations }) },
  };
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof NumberValue);
}

function pick(record: Record<string, JsonValue>, keys: readonly string[]): Record<string, JsonValue> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(record, k)).map((k) => [k, record[k]!]));
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
