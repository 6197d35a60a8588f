/**
 * The client's options, their defaults and their checks. Bad options fail in the constructor with
 * a message that says what to change (and never repeats the API key).
 */
import type { FailureReason } from "./outcomes.js";

/**
 * The server's limits for `POST /events/batch` (handlers/lib/primitives/limits.ts; a repository
 * test keeps these equal to the server's).
 */
export const SERVER_LIMITS = {
  batchMaxEvents: 100,
  /** UTF-8 bytes of the uncompressed body. */
  batchMaxBytes: 1024 * 1024,
  idempotencyKeyMaxLength: 255,
} as const;

export interface RetryInfo {
  /** The attempt that just failed (1 = the first request). */
  attempt: number;
  /** Events that will be sent again. */
  events: number;
  /** Why: `503 storage_unavailable`, `429`, `network: ECONNRESET`, `timeout`. */
  reason: string;
  /** How long the client waits before the next attempt (full jitter, at least Retry-After). */
  delayMs: number;
}

export interface DropInfo {
  /** `dropped` (drop-oldest made room) or `queue_full` (the reject policy refused a send). */
  reason: Extract<FailureReason, "dropped" | "queue_full">;
  eventType: string;
  idempotencyKey: string;
  /** Events lost to overflow so far, this one included. */
  total: number;
}

export interface FlushInfo {
  /** Events in the request group that just settled. */
  events: number;
  /** HTTP requests it took, retries included. */
  requests: number;
  /** From the first request to the last answer. */
  latencyMs: number;
  /** How long its oldest event waited in the queue before the first request. */
  queuedMs: number;
  accepted: number;
  rejected: number;
  failed: number;
}

export interface ClientHooks {
  /** Before each retry. */
  retry?(info: RetryInfo): void;
  /** When overflow drops or refuses an event. */
  drop?(info: DropInfo): void;
  /** When a batch settled (every event in it has its outcome). */
  flush?(info: FlushInfo): void;
}

export interface EventClientOptions {
  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-north-1.amazonaws.com` or `http://127.0.0.1:3000`. */
  url: string | URL;
  /** An API key with the `ingest` scope. Sent only as `Authorization: Bearer …`; never logged or put in an error. */
  apiKey: string;
  /** Events per request, 1..100 (the server's limit). A full batch is sent at once. @default 100 */
  maxBatchSize?: number;
  /** How long an event may wait for a batch to fill before it is sent anyway. @default 1000 */
  flushIntervalMs?: number;
  /** Events held at once, waiting or in flight. @default 10000 */
  maxQueueSize?: number;
  /**
   * What a send does when the queue is full: `reject` resolves the new send as failed
   * (`queue_full`); `drop-oldest` makes room by failing the oldest waiting event (`dropped`) and
   * counts it in `stats().dropped`. @default "reject"
   */
  overflow?: "reject" | "drop-oldest";
  /** Per HTTP request; a request that takes longer is aborted and retried. @default 10000 */
  timeoutMs?: number;
  /** Retries per event after the first attempt. @default 10 */
  maxRetries?: number;
  /** No retry starts later than this after an event's first attempt. @default 60000 */
  maxRetryTime?: number;
  /** The first retry waits up to this long (full jitter); each retry doubles it. @default 100 */
  retryBaseDelayMs?: number;
  /** No backoff is longer, except when the server's Retry-After asks for more. @default 10000 */
  retryMaxDelayMs?: number;
  /** Requests in flight at once (each carries one batch). @default 4 */
  maxConcurrentRequests?: number;
  /** Request bodies of at least this many bytes are sent gzip-compressed; `false` never compresses. @default 32768 */
  gzipMinBytes?: number | false;
  /** Aborting it stops the client: requests in flight are cancelled, unsent events fail as `aborted`, later sends as `closed`. */
  signal?: AbortSignal;
  hooks?: ClientHooks;
  /** A fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

export type ResolvedOptions = Required<Omit<EventClientOptions, "url" | "apiKey" | "signal" | "hooks" | "gzipMinBytes">> & {
  endpoint: string;
  gzipMinBytes: number;
  signal: AbortSignal | undefined;
  hooks: ClientHooks;
};

export const DEFAULTS = {
  maxBatchSize: SERVER_LIMITS.batchMaxEvents,
  flushIntervalMs: 1000,
  maxQueueSize: 10_000,
  overflow: "reject",
  timeoutMs: 10_000,
  maxRetries: 10,
  maxRetryTime: 60_000,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 10_000,
  maxConcurrentRequests: 4,
  gzipMinBytes: 32 * 1024,
} as const;

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`EventClient: ${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return v;
}

export function resolveOptions(options: EventClientOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("EventClient: pass an options object: { url, apiKey }");
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch {
    throw new TypeError("EventClient: url must be an absolute http(s) URL, e.g. https://abc123.execute-api.eu-north-1.amazonaws.com");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`EventClient: url must use http or https; got ${url.protocol}`);
  if (typeof options.apiKey !== "string" || options.apiKey.trim() === "") throw new TypeError("EventClient: apiKey must be a non-empty string (a key with the ingest scope)");
  const overflow = options.overflow ?? DEFAULTS.overflow;
  if (overflow !== "reject" && overflow !== "drop-oldest") throw new TypeError(`EventClient: overflow must be "reject" or "drop-oldest"; got ${String(overflow)}`);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new TypeError("EventClient: no global fetch here; pass options.fetch");
  const day = 24 * 3600 * 1000;
  return {
    endpoint: url.href.replace(/\/+$/, ""),
    maxBatchSize: integer("maxBatchSize", options.maxBatchSize, DEFAULTS.maxBatchSize, 1, SERVER_LIMITS.batchMaxEvents),
    flushIntervalMs: integer("flushIntervalMs", options.flushIntervalMs, DEFAULTS.flushIntervalMs, 0, day),
    maxQueueSize: integer("maxQueueSize", options.maxQueueSize, DEFAULTS.maxQueueSize, 1, 10_000_000),
    overflow,
    timeoutMs: integer("timeoutMs", options.timeoutMs, DEFAULTS.timeoutMs, 1, day),
    maxRetries: integer("maxRetries", options.maxRetries, DEFAULTS.maxRetries, 0, 1000),
    maxRetryTime: integer("maxRetryTime", options.maxRetryTime, DEFAULTS.maxRetryTime, 0, day),
    retryBaseDelayMs: integer("retryBaseDelayMs", options.retryBaseDelayMs, DEFAULTS.retryBaseDelayMs, 1, day),
    retryMaxDelayMs: integer("retryMaxDelayMs", options.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs, 1, day),
    maxConcurrentRequests: integer("maxConcurrentRequests", options.maxConcurrentRequests, DEFAULTS.maxConcurrentRequests, 1, 1000),
    gzipMinBytes: options.gzipMinBytes === false ? Infinity : integer("gzipMinBytes", options.gzipMinBytes, DEFAULTS.gzipMinBytes, 0, Number.MAX_SAFE_INTEGER),
    signal: options.signal,
    hooks: options.hooks ?? {},
    fetch: fetchImpl,
  };
}
