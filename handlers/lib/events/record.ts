/**
 * The stored event: validated input plus server-owned enrichment, and its stored form (ADR 0035):
 * the one place that turns a record into the item DynamoDB holds and back.
 */
import { createHash } from "node:crypto";
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from "node:zlib";
import type { EventInput, SchemaError } from "./schema";
import type { CatalogStamp } from "./catalog";
import { STATUS_INDEX } from "../primitives/tables";
import { shardOf } from "../primitives/ids";
import { decimalParts, NumberValue, readJson, writeJson, type JsonObject } from "../primitives/json";
import { LIMITS } from "../primitives/limits";

export const SCHEMA_VERSION = 1;
export type EventStatus = "pending" | "delivered" | "failed" | "replayed";

export interface EventRecord {
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  metadata?: Record<string, string | number | boolean>;
  occurred_at?: string;
  created_at: string;
  received_at: string;
  request_id: string;
  source: EventSource;
  status: EventStatus;
  delivery_attempts: number;
  delivered_at: string | null;
  /** Epoch seconds after which DynamoDB may delete the item; only when TTL is on. */
  ttl?: number;
  schema_version: number;
  /**
   * The event catalogue's check, when the stack runs one: the version of the event type's schema
   * the event was checked against and whether it matched, or `declared: false` for an unknown type
   * under `unknownEventTypes: warn` (docs/adr/0037).
   */
  catalog?: CatalogStamp;
  /** Under `catalogMode: warn` (or `unknownEventTypes: warn`): what did not match, as pointers into the event. */
  schema_violations?: SchemaError[];
  /** Status-index partition: `<status>#<shard>`. */
  status_shard: string;
  idempotency_key?: string;
  /**
   * SHA-256 of the canonical request, to tell a retry from a reused idempotency key; only with a
   * key (a fresh random id is never compared with another request).
   */
  request_sha256?: string;
}

/**
 * Where an event came from, stored as `source`: exactly one of `api_key_id` (HTTP API), `webhook`
 * (a signed webhook sender's configured name) or `pipeline` (the SNS pipeline's name), plus the
 * origin's own delivery id where it has one. The origin also namespaces idempotent ids, so two
 * origins can never name the same event by choosing the same key.
 */
export type EventSource =
  | { api_key_id: string }
  | { webhook: string; delivery_id?: string }
  | { pipeline: string; sns_message_id?: string };

/** An API key's id, as `source.api_key_id` stores it: 16 lowercase Crockford base32 characters. */
export const API_KEY_ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{16}$/;
/** A webhook source's configured name, as `source.webhook` stores it. */
export const WEBHOOK_SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export interface EnrichmentContext {
  eventId: string;
  nowMs: number;
  /** API Gateway's request time, epoch milliseconds. */
  receivedAtMs: number;
  requestId: string;
  source: EventSource;
  statusIndexShards: number;
  /** TTL horizon in days; undefined when TTL is off. */
  retentionDays?: number;
  idempotencyKey?: string;
  /** The catalogue's verdict on the input (catalog.ts `checkCatalog`), when one was reached. */
  catalog?: { stamp?: CatalogStamp; violations?: SchemaError[] };
}

export function statusShardKey(status: EventStatus, shard: number): string {
  return `${status}#${shard}`;
}

export function buildEventRecord(input: EventInput, ctx: EnrichmentContext): EventRecord {
  const record: EventRecord = {
    event_id: ctx.eventId,
    event_type: input.event_type,
    payload: input.payload,
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    ...(input.occurred_at === undefined ? {} : { occurred_at: input.occurred_at }),
    created_at: new Date(ctx.nowMs).toISOString(),
    received_at: new Date(ctx.receivedAtMs).toISOString(),
    request_id: ctx.requestId,
    source: ctx.source,
    status: "pending",
    delivery_attempts: 0,
    delivered_at: null,
    ...(ctx.retentionDays === undefined ? {} : { ttl: Math.floor(ctx.nowMs / 1000) + ctx.retentionDays * 86_400 }),
    schema_version: SCHEMA_VERSION,
    ...(ctx.catalog?.stamp === undefined ? {} : { catalog: ctx.catalog.stamp }),
    ...(ctx.catalog?.violations === undefined ? {} : { schema_violations: ctx.catalog.violations }),
    [STATUS_INDEX.partitionKey.name]: statusShardKey("pending", shardOf(ctx.eventId, ctx.statusIndexShards)),
    ...(ctx.idempotencyKey === undefined ? {} : { idempotency_key: ctx.idempotencyKey, request_sha256: requestFingerprint(input) }),
  } as EventRecord;
  return record;
}

/**
 * A compressed item larger than this goes to S3 when a claim check is configured (ADR 0035): its
 * write and each status change would cost 64+ write units each (DynamoDB bills $0.625 per million write units, one per KB), while
 * an S3 PUT and GET cost $5.40 per million, and the item left behind is under 1 KB, so acks stay
 * cheap. Without a claim check, items keep up to DynamoDB's 400 KB.
 */
export const CLAIM_CHECK_MIN_ITEM_BYTES = 64 * 1024;

/** The item attributes of the stored form, never returned to clients. */
export const STORED_FORM_ATTRIBUTES = ["storage_format", "payload_br", "payload_object", "payload_bytes"] as const;

/**
 * Attributes never returned to clients: the store's own, and `idempotency_key`, which producers
 * often fill with personal data (`order-4711-jane@example.com`) and which readers do not need (the
 * producer got the event_id it maps to).
 */
const INTERNAL_ATTRIBUTES: ReadonlySet<string> = new Set([STATUS_INDEX.partitionKey.name, "request_sha256", "idempotency_key", ...STORED_FORM_ATTRIBUTES]);

/** The event as clients see it: the stored item without internal attributes. */
export function publicEvent(record: EventRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !INTERNAL_ATTRIBUTES.has(key)));
}

/** Order-independent digest of what the client asked to store. */
export function requestFingerprint(input: EventInput): string {
  return createHash("sha256").update(canonicalJson(input)).digest("hex");
}

/** JSON with object keys sorted, so equal values give equal text. Input depth is bounded by the reader. */
export function canonicalJson(value: unknown): string {
  if (value instanceof NumberValue) return value.value;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * DynamoDB's accounting of an item's size: UTF-8 bytes of every attribute name and string,
 * numbers by significant digits, 3 bytes of overhead per map or list plus 1 per element, 1 per
 * boolean or null. See "Item sizes and formats" in the DynamoDB developer guide.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, "utf8") + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === "boolean") return 1;
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === "number") return numberSize(String(value));
  if (value instanceof NumberValue) return numberSize(value.value);
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + 1 + valueSize(v), 3);
  if (typeof value === "object") {
    let size = 3;
    for (const [k, v] of Object.entries(value)) size += 1 + Buffer.byteLength(k, "utf8") + valueSize(v);
    return size;
  }
  return 0;
}

/**
 * 1 byte, plus 1 per two significant digits, plus 1 when an even digit count meets an even
 * exponent (the pairs do not line up with the decimal point), plus 1 for a minus sign: the
 * accounting dynalite reproduces. The guide's "about 1 per two digits, plus 1" undercounts, and an
 * undercount lets a too-large item through to a write that fails with a 500 instead of a 413.
 */
function numberSize(literal: string): number {
  const { digits, exponent } = decimalParts(literal);
  if (digits === "") return 1;
  const scientificExponent = exponent + digits.length - 1;
  const unpaired = digits.length % 2 === 0 && scientificExponent % 2 === 0 ? 1 : 0;
  return 1 + Math.ceil(digits.length / 2) + unpaired + (literal.startsWith("-") ? 1 : 0);
}

/**
 * Storage formats (ADR 0035). Format 1 (no `storage_format` attribute): `payload` is a DynamoDB map,
 * as every item written before large events. Format 2: the payload's JSON text (the lossless
 * writer's, so every number keeps its digits) compressed with brotli, either in the item
 * (`payload_br`, binary) or, when even that would pass DynamoDB's item limit, in an S3 object
 * named by `payload_object` (the claim check). `payload_bytes` is the JSON text's length, so a
 * listing can budget its response without fetching the payload.
 */
export const STORAGE_FORMAT = 2;

/**
 * Payloads whose JSON text is shorter than this stay a map (format 1), picked from the bench's
 * sweep (docs/adr/0044): below ~900 B compression saves no write unit at all; up to ~2.2 KB it
 * saves some, but each compressed event on a listing page is a BatchGetItem read, and a page of
 * such events passed issue 22's "≤ 2× today's read units" (2 KB: 2.11×; GitHub's examples up to
 * 2,125 B). From 2.5 KiB on, a page stays within 2× (3 KB: 1.44×) and compression saves 8+ of
 * 15+ write units; GitHub's example payloads (median 7.7 KB) shrink 3× to 12×.
 */
export const COMPRESS_MIN_PAYLOAD_BYTES = 2_560;
/** Quality 5 of 11: within 1 % of quality 6's size on the GitHub examples at ~half the CPU of 9+ (docs/BENCHMARKS.md). */
const BROTLI_QUALITY = 5;


/** An event as DynamoDB holds it: a record whose payload may be encoded (format 2). */
export type StoredItem = Omit<EventRecord, "payload"> & {
  payload?: Record<string, unknown>;
  storage_format?: number;
  /** Brotli of the payload's JSON text. */
  payload_br?: Uint8Array;
  /** S3 key of the object holding `payload_br`'s bytes (claim check). */
  payload_object?: string;
  /** UTF-8 bytes of the payload's JSON text. */
  payload_bytes?: number;
};

/** The item to write for `record`: format 1 for a small payload, else the compressed format 2. */
export function storedItem(record: EventRecord): StoredItem {
  const text = writeJson(record.payload);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes < COMPRESS_MIN_PAYLOAD_BYTES) return record;
  const { payload: _payload, ...rest } = record;
  const compressed = brotliCompressSync(text, {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes },
  });
  return { ...rest, storage_format: STORAGE_FORMAT, payload_br: compressed, payload_bytes: bytes };
}

/** The item with its compressed payload moved out to the S3 object `key` (the claim check). */
export function claimChecked(item: StoredItem, key: string): StoredItem {
  const { payload_br: _bytes, ...rest } = item;
  return { ...rest, payload_object: key };
}

/** The S3 key of a claim-checked payload: under the event's id, and its content's digest, so a different request for the same id never overwrites it. */
export function payloadObjectKey(eventId: string, compressed: Uint8Array): string {
  return payloadObjectKeyFor(eventId, payloadDigest(compressed));
}

/** SHA-256 (hex) of a payload's compressed bytes: what an object's key and a queue message's pointer name it by. */
export function payloadDigest(compressed: Uint8Array): string {
  return createHash("sha256").update(compressed).digest("hex");
}

/** The key `payloadObjectKey` gives bytes with this digest: `events/<event_id>/<first 32 hex of the digest>.json.br`. */
export function payloadObjectKeyFor(eventId: string, sha256: string): string {
  return `events/${eventId}/${sha256.slice(0, 32)}.json.br`;
}

/**
 * The item for `record` whose payload is already in the S3 object `key` (written by the ingest
 * function in queued mode, ADR 0043): format 2 naming that object, so it is stored once.
 */
export function claimCheckedItem(record: EventRecord, key: string, payloadBytes: number): StoredItem {
  const { payload: _payload, ...rest } = record;
  return { ...rest, storage_format: STORAGE_FORMAT, payload_object: key, payload_bytes: payloadBytes };
}

/** Whether an item's payload is elsewhere (format 2): in `payload_br` or in an S3 object. */
export function isEncoded(item: Record<string, unknown>): boolean {
  return item.storage_format === STORAGE_FORMAT;
}

/** The payload's JSON text (may hold digits a double cannot carry) read back exactly as written. */
const PAYLOAD_MAX_DEPTH = LIMITS.maxPayloadDepth + 1;
export function decodePayload(compressed: Uint8Array): Record<string, unknown> {
  return decodePayloadText(compressed).payload;
}

/** decodePayload, and the JSON text's UTF-8 bytes (what `payload_bytes` records). */
export function decodePayloadText(compressed: Uint8Array): { payload: Record<string, unknown>; bytes: number } {
  // Bounded: a crafted message (the queue is not trusted) cannot inflate past twice the largest body.
  const text = brotliDecompressSync(compressed, { maxOutputLength: 2 * LIMITS.maxConfigurableBodyBytes });
  return { payload: readJson(text.toString("utf8"), { maxDepth: PAYLOAD_MAX_DEPTH }) as JsonObject, bytes: text.byteLength };
}

/**
 * The record a stored item holds, whatever its format. A claim-checked item needs its object's
 * bytes (`objectBytes`), which only the store can fetch; anything else decodes here.
 */
export function recordFromItem(item: StoredItem, objectBytes?: Uint8Array): EventRecord {
  if (!isEncoded(item as Record<string, unknown>)) return item as EventRecord;
  const { storage_format: _f, payload_br, payload_object, payload_bytes: _b, ...rest } = item;
  const bytes = payload_br ?? objectBytes;
  if (bytes === undefined) throw new Error(`event ${item.event_id}: payload object ${payload_object ?? "(none)"} was not read`);
  return { ...rest, payload: decodePayload(bytes) } as EventRecord;
}
