/** The stored event: validated input plus server-owned enrichment. */
import { createHash } from "node:crypto";
import type { EventInput, SchemaError } from "./schema";
import type { CatalogStamp } from "./catalog";
import { STATUS_INDEX } from "../primitives/tables";
import { shardOf } from "../primitives/ids";
import { decimalParts, NumberValue } from "../primitives/json";

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
 * Attributes never returned to clients: the store's own, and `idempotency_key`, which producers
 * often fill with personal data (`order-4711-jane@example.com`) and which readers do not need (the
 * producer got the event_id it maps to).
 */
const INTERNAL_ATTRIBUTES: ReadonlySet<string> = new Set([STATUS_INDEX.partitionKey.name, "request_sha256", "idempotency_key"]);

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
