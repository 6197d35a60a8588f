/**
 * When the next attempt of a failed delivery runs. The schedule (subscriptions.ts, Svix's) gives
 * the delay after each attempt; each delay gets ±20 % jitter so a receiver that comes back is not
 * hit by every queued retry in the same second. A `Retry-After` on 429 or 503 is honoured within
 * the schedule's bounds: never sooner than its shortest retry, never later than its longest (and
 * never beyond SQS's 12 h visibility ceiling). `scale` compresses the whole schedule (tests, local).
 */
import { DELIVERY_SCHEDULE_SECONDS, MAX_RETRY_DELAY_SECONDS } from "./subscriptions";

const JITTER = 0.2;

export interface RetryInput {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  scale?: number;
  /** Seconds the receiver asked for (Retry-After on 429/503), if any. */
  retryAfterSeconds?: number;
  /** [0, 1); @default Math.random */
  random?: () => number;
}

/** Whole seconds until the next attempt (SQS visibility is in whole seconds); ≥ 1, since 0 would retry at once. */
export function retryDelaySeconds(input: RetryInput): number {
  const scale = input.scale ?? 1;
  const random = input.random ?? Math.random;
  const entries = DELIVERY_SCHEDULE_SECONDS.slice(1);
  const base = entries[Math.min(input.attempt - 1, entries.length - 1)]!;
  let delay = base * (1 + JITTER * (2 * random() - 1));
  if (input.retryAfterSeconds !== undefined) {
    delay = Math.min(Math.max(input.retryAfterSeconds, Math.min(...entries)), Math.max(...entries));
  }
  return Math.max(1, Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(delay * scale)));
}

/** A `Retry-After` header in seconds (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}
