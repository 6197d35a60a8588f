/** Identifiers: event ids and the Crockford base32 they are written in. */
import { createHash, randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Big-endian base32 of `bytes`, left-padded with zero bits so sort order is byte order. */
export function crockfordBase32(bytes: Uint8Array): string {
  const totalBits = bytes.length * 8;
  const chars = Math.ceil(totalBits / 5);
  let out = "";
  for (let c = 0; c < chars; c++) {
    // Bit index (from the most significant end of a zero-padded number) where this char starts.
    const start = c * 5 - (chars * 5 - totalBits);
    let value = 0;
    for (let b = start; b < start + 5; b++) {
      const bit = b < 0 ? 0 : (bytes[b >> 3]! >> (7 - (b & 7))) & 1;
      value = (value << 1) | bit;
    }
    out += CROCKFORD[value];
  }
  return out;
}

export const EVENT_ID_PREFIX = "evt_";
export const EVENT_ID_PATTERN = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * A new event id: `evt_` + 48 bits of milliseconds + 80 random bits from the CSPRNG (a ULID layout),
 * so ids sort by creation time and 80 random bits keep collisions out of reach (≈1e12 ids per
 * millisecond before a 50% chance of one).
 */
export function newEventId(nowMs: number, random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = new Uint8Array(16);
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes.set(random(10), 6);
  return EVENT_ID_PREFIX + crockfordBase32(bytes);
}

/**
 * The event id for a request that carries an Idempotency-Key: derived from the origin's namespace
 * and the idempotency key (128 bits of SHA-256), so a retry names the same item and the conditional
 * put recognises it. For the HTTP API the namespace is the API key id itself (the ids stored before
 * other origins existed stay valid); see `idempotencyNamespace` in eventWriter.ts. Such ids are not
 * time-ordered; listings sort by `created_at`, not by id.
 */
export function idempotentEventId(namespace: string, idempotencyKey: string): string {
  const digest = createHash("sha256").update(`${namespace}\n${idempotencyKey}`).digest();
  return EVENT_ID_PREFIX + crockfordBase32(digest.subarray(0, 16));
}

/** Which of `shards` status-index partitions an event lives in; stable for a given id. */
export function shardOf(eventId: string, shards: number): number {
  // FNV-1a: cheap, and the id's random tail spreads it evenly.
  let hash = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    hash ^= eventId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
