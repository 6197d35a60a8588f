/** Telling storage faults (retry later: 503) from everything else, without importing the SDK. */

const RETRYABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  // S3 did not take a claim-checked payload (store/payloadObjects.ts); the item was never written.
  "PayloadObjectWriteError",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND"]);

/**
 * True when storage was throttled or unreachable after the SDK's own retries: the client should
 * retry later (503), and nothing was lost because nothing was acknowledged.
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  return (e.$metadata?.httpStatusCode ?? 0) >= 500;
}

/** Storage refused before doing any work: a throttled request or a refused connection was not applied. */
const NOT_APPLIED_NAMES = new Set(["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "PayloadObjectWriteError"]);
const NOT_APPLIED_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * True for a storage fault after which the write may have been applied although storage never said
 * so: a timeout, a dropped connection, a 5xx. The client must not be told that nothing was stored.
 * (Judged on the last attempt's error; see docs/THREAT_MODEL.md for the rare mixed sequence.)
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!isStorageUnavailable(error)) return false;
  const { name = "", code = "" } = error as { name?: string; code?: string };
  return !NOT_APPLIED_NAMES.has(name) && !NOT_APPLIED_CODES.has(code);
}

export function errorName(error: unknown): string | undefined {
  return error && typeof error === "object" && "name" in error ? String((error as { name: unknown }).name) : undefined;
}

/**
 * The ingest queue (queued mode) did not take a message. `mayHaveBeenQueued`: the request's fate
 * is unknown (a timeout, a dropped connection), so the client must not be told it was not queued.
 * Here rather than beside the SQS client so the HTTP envelope can map it without bundling the SDK.
 */
export class QueueSendError extends Error {
  constructor(
    message: string,
    readonly mayHaveBeenQueued: boolean,
    readonly code: string,
  ) {
    super(message);
    this.name = "QueueSendError";
  }
}
