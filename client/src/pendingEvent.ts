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

/** One event from `send()` to its outcome. A class, because a busy producer holds thousands. */
export class PendingEvent {
  attempts = 0;
  /** An attempt may have reached the server without an answer. */
  outcomeUnknown = false;
  lastError: string | undefined = undefined;
  outcome: SendOutcome | undefined = undefined;
  readonly promise: Promise<SendOutcome>;
  resolve!: (outcome: SendOutcome) => void;

  constructor(
    readonly seq: number,
    readonly eventType: string,
    readonly idempotencyKey: string,
    /** `POST /events/batch` item: `{"event_type":…,"payload":…,…,"idempotency_key":…}`. */
    readonly item: string,
    /** Where the item's `idempotency_key` member starts; the rest is the body of `POST /events`. */
    readonly keyAt: number,
    /** UTF-8 bytes of `item`. */
    readonly itemBytes: number,
    readonly enqueuedAt: number,
  ) {
    this.promise = new Promise((resolve) => (this.resolve = resolve));
  }

  /** The body of `POST /events` (the key travels in the Idempotency-Key header). */
  get body(): string {
    return `${this.item.slice(0, this.keyAt)}}`;
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Serializes the event once, or throws a TypeError for what no server would take (a programming error). */
export function encodeEvent(seq: number, eventType: string, payload: unknown, options: SendOptions, idempotencyKey: string): PendingEvent {
  if (typeof eventType !== "string" || eventType === "") throw new TypeError("EventClient.send: eventType must be a non-empty string");
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) throw new TypeError("EventClient.send: payload must be a JSON object");
  if (idempotencyKey.length > SERVER_LIMITS.idempotencyKeyMaxLength || !PRINTABLE_ASCII.test(idempotencyKey)) {
    throw new TypeError(`EventClient.send: idempotencyKey must be 1..${SERVER_LIMITS.idempotencyKeyMaxLength} printable ASCII characters`);
  }
  const event: Record<string, unknown> = { event_type: eventType, payload };
  if (options.metadata !== undefined) event.metadata = options.metadata;
  if (options.occurredAt !== undefined) event.occurred_at = options.occurredAt instanceof Date ? options.occurredAt.toISOString() : options.occurredAt;
  let body: string;
  try {
    body = JSON.stringify(event);
  } catch (error) {
    throw new TypeError(`EventClient.send: the event is not JSON-serializable (${(error as Error).message})`);
  }
  const keyAt = body.length - 1;
  const item = `${body.slice(0, keyAt)},"idempotency_key":${JSON.stringify(idempotencyKey)}}`;
  return new PendingEvent(seq, eventType, idempotencyKey, item, keyAt, utf8Length(item), Date.now());
}

const ASCII = /^[\x00-\x7f]*$/;

/** UTF-8 length without encoding the string (most events are ASCII: one native regex test). */
export function utf8Length(text: string): number {
  if (ASCII.test(text)) return text.length;
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
