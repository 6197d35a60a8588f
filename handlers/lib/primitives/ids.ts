/** Identifiers: event ids and the Crockford base32 they are written in. */
import { createHash, randomFillSync } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Big-endian base32 of `bytes`, left-padded with zero bits so sort order is byte order. */
export function crockfordBase32(bytes: Uint8Array): string {
  const chars = Math.ceil((bytes.length * 8) / 5);
  // The padding bits start out in the accumulator as zeros; 5-bit groups are shifted out as they fill.
  let bits = chars * 5 - bytes.length * 8;
  let accumulator = 0;
  let out = "";
  for (const byte of bytes) {
    accumulator = (accumulator << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(accumulator >>> bits) & 31];
    }
    accumulator &= (1 << bits) - 1;
  }
  return out;
}

/**
 * CSPRNG bytes drawn from a 4 KB pool refilled with randomFillSync: the same generator as
 * randomBytes(n), without a call into it (and a new Buffer) per id.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;
function pooledRandomBytes(n: number): Uint8Array {
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += n;
  return pool.subarray(poolOffset - n, poolOffset);
}

export const EVENT_ID_PREFIX = "evt_";
export const EVENT_ID_PATTERN = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * A new event id: `evt_` + 48 bits of milliseconds + 80 random bits from the CSPRNG (a ULID layout),
 * so ids sort by creation time and 80 random bits keep collisions out of reach (≈1e12 ids per
 * millisecond before a 50% chance of one).
 */
export function newEventId(nowMs: number, random: (n: number) => Uint8Array = pooledRandomBytes): string {
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

/**
 * The milliseconds a fresh id (newEventId) carries in its first 10 characters (2 zero padding bits
 * and 48 bits of time), or undefined when `eventId` is not an event id. An idempotent id's leading
 * characters are hash bits, so this is meaningful only for ids made by newEventId.
 */
export function eventIdTimeMs(eventId: string): number | undefined {
  if (!EVENT_ID_PATTERN.test(eventId)) return undefined;
  let value = 0;
  for (const c of eventId.slice(EVENT_ID_PREFIX.length, EVENT_ID_PREFIX.length + 10)) value = value * 32 + CROCKFORD.indexOf(c);
  return value;
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
