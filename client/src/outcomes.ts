/**
 * What a send ends as. The promise `send()` returns always resolves, never rejects: a producer that
 * fires and forgets must not crash on an unhandled rejection during an outage. `stored`,
 * `duplicate` and `queued` mean the server has the event; `rejected` means the server refused it
 * for good (its problem details say why); `failed` means the client gave up or never sent it.
 */

/** RFC 9457 problem details as the server answers them (`code` names the check that failed). */
export interface ProblemDetails {
  type?: string;
  title: string;
  status: number;
  code?: string;
  detail?: string;
  request_id?: string;
  /** Field errors: `pointer` into the event (`/payload/total`), or `header`. */
  errors?: { pointer?: string; header?: string; detail: string }[];
  [extension: string]: unknown;
}

/**
 * - `queue_full`: the queue held `maxQueueSize` events and the overflow policy is `reject`;
 * - `dropped`: the overflow policy `drop-oldest` dropped this event to make room for a newer one;
 * - `closed`: sent after `close()` (or after the client's signal aborted);
 * - `aborted`: the client's signal aborted, or `close({ timeoutMs })` ran out, before an answer;
 * - `retries_exhausted`: every attempt failed with a retryable answer until `maxRetries` or
 *   `maxRetryTime` ran out.
 */
export type FailureReason = "queue_full" | "dropped" | "closed" | "aborted" | "retries_exhausted";

interface OutcomeBase {
  /** The key the event was sent with (yours, or the one the client made at enqueue). */
  idempotencyKey: string;
  /** HTTP requests that carried this event (0 when it was never sent). */
  attempts: number;
}

export type SendOutcome =
  | (OutcomeBase & { status: "stored"; eventId: string })
  /** The server already held an event with this key: from an earlier send of yours, or from an earlier attempt of this one whose answer was lost. Stored once either way. */
  | (OutcomeBase & { status: "duplicate"; eventId: string })
  /** Queued mode: durably in the ingest queue; the processor stores it (once) shortly. */
  | (OutcomeBase & { status: "queued"; eventId: string })
  | (OutcomeBase & { status: "rejected"; problem: ProblemDetails })
  | (OutcomeBase & {
      status: "failed";
      reason: FailureReason;
      /**
       * True when an attempt may have reached the server (a timeout, a lost connection, a 5xx):
       * the event may be stored. Sending it again with the same `idempotencyKey` is safe.
       */
      outcomeUnknown: boolean;
      /** The last error, e.g. `503 storage_unavailable` or `network: ECONNRESET`. Never holds the API key. */
      lastError?: string;
    });

export type SendStatus = SendOutcome["status"];

/** True for the outcomes where the server holds the event. */
export function isAccepted(outcome: SendOutcome): outcome is Extract<SendOutcome, { eventId: string }> {
  return outcome.status === "stored" || outcome.status === "duplicate" || outcome.status === "queued";
}
