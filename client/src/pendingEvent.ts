/**
 * An event between `send()` and its outcome: serialized once at enqueue (so a caller mutating the
 * payload afterwards changes nothing, and its size is known for batching), with the idempotency key
 * it keeps on every retry, and the request bodies built from it.
 */
import { SERVER_LIMITS } from "./options.js";
import type { SendOutcome } from "./outcomes.js";

export type Metadata = Record<string, string | number | boolean>;

export interface SendOptions {
  /** Flat string / number / boolean values, at most 50 keys (the server checks). */
  metadata?: Metadata;
  /** When it happened; a Date or RFC 3339 with an offset. */
  occurredAt?: Date | string;
  /** 1..255 printable ASCII. Give one when the same event may be sent again by another process or later run. @default a random UUID made now */
  idempotencyKey?: string;
}

export interface PendingEvent {
  seq: number;
  eventType: string;
  idempotencyKey: string;
  /** The body of `POST /events`: `{"event_type":…,"payload":…,…}`. */
  body: string;
  /** The same plus `idempotency_key`, as an item of `POST /events/batch`. */
  item: string;
  /** UTF-8 bytes of `item`. */
  itemBytes: number;
  enqueuedAt: number;
  attempts: number;
  /** An attempt may have reached the server without an answer. */
  outcomeUnknown: boolean;
  lastError?: string;
  outcome?: SendOutcome;
  settle(outcome: SendOutcome): void;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Builds the event's bodies, or throws a TypeError for what no server would take (a programming error). */
export function encodeEvent(eventType: string, payload: unknown, options: SendOptions, idempotencyKey: string): Pick<PendingEvent, "body" | "item" | "itemBytes"> {
  if (typeof eventType !== "string" || eventType === "") throw new TypeError("EventClient.send: eventType must be a non-empty string");
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) throw new TypeError("EventClient.send: payload must be a JSON object");
  if (idempotencyKey.length > SERVER_LIMITS.idempotencyKeyMaxLength || !PRINTABLE_ASCII.test(idempotencyKey)) {
    throw new TypeError(`EventClient.send: idempotencyKey must be 1..${SERVER_LIMITS.idempotencyKeyMaxLength} printable ASCII characters`);
  }
  const occurredAt = options.occurredAt instanceof Date ? options.occurredAt.toISOString() : options.occurredAt;
  let body: string;
  try {
    body = JSON.stringify({
      event_type: eventType,
      payload,
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      ...(occurredAt === undefined ? {} : { occurred_at: occurredAt }),
    });
  } catch (error) {
    throw new TypeError(`EventClient.send: the event is not JSON-serializable (${(error as Error).message})`);
  }
  const item = `${body.slice(0, -1)},"idempotency_key":${JSON.stringify(idempotencyKey)}}`;
  return { body, item, itemBytes: utf8Length(item) };
}

/** UTF-8 length without encoding the string. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** `{"events":[` + `]}`; items are joined by one comma each. */
const ENVELOPE_BYTES = '{"events":[]}'.length;

/** An item that alone would not fit in a batch body goes to `POST /events` by itself. */
export function fitsInBatch(event: Pick<PendingEvent, "itemBytes">): boolean {
  return ENVELOPE_BYTES + event.itemBytes <= SERVER_LIMITS.batchMaxBytes;
}

/** How many events from the front of `queue` make one request: at most `maxEvents`, the body within the byte limit. */
export function takeCount(queue: readonly Pick<PendingEvent, "itemBytes">[], maxEvents: number): number {
  let bytes = ENVELOPE_BYTES;
  let count = 0;
  for (const event of queue) {
    if (count === maxEvents) break;
    const next = bytes + event.itemBytes + (count > 0 ? 1 : 0);
    if (next > SERVER_LIMITS.batchMaxBytes) break;
    bytes = next;
    count++;
  }
  return Math.max(count, 1);
}

/** UTF-8 bytes of `batchBody(events)`. */
export function batchBytes(events: readonly Pick<PendingEvent, "itemBytes">[]): number {
  return events.reduce((sum, e) => sum + e.itemBytes, ENVELOPE_BYTES + Math.max(0, events.length - 1));
}

export function batchBody(events: readonly PendingEvent[]): string {
  return `{"events":[${events.map((e) => e.item).join(",")}]}`;
}
