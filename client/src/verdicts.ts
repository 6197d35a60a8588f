/**
 * What an attempt's answer means for each event it carried: a final outcome, or "retry". The rule:
 * 2xx is final; 408, 429, every 5xx, a network error and a timeout are retried (the idempotency key
 * makes a retry safe even when the first attempt was stored); every other 4xx is final. A whole
 * batch refused with 400 or 413 is split in halves, so one bad event cannot sink the others.
 */
import type { ProblemDetails, SendOutcome } from "./outcomes.js";
import type { AttemptResult } from "./transport.js";

type FinalOutcome = Extract<SendOutcome, { status: "stored" | "duplicate" | "queued" | "rejected" }>;
export type Final = FinalOutcome extends infer O ? (O extends unknown ? Omit<O, "idempotencyKey" | "attempts"> : never) : never;

export type Verdict =
  | { kind: "final"; outcome: Final }
  | { kind: "retry"; reason: string; outcomeUnknown: boolean; retryAfterMs: number | undefined };

export type RequestVerdict = { kind: "each"; verdicts: Verdict[] } | { kind: "split" };

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** The answer to `POST /events` (one event) or `POST /events/batch` (`events` of them). */
export function judge(result: AttemptResult, events: number, route: "single" | "batch"): RequestVerdict {
  const all = (verdict: Verdict): RequestVerdict => ({ kind: "each", verdicts: Array.from({ length: events }, () => verdict) });
  if (result.kind === "network") {
    return all({ kind: "retry", reason: result.error, outcomeUnknown: true, retryAfterMs: undefined });
  }
  const { status, body, retryAfterMs } = result;
  if (isRetryableStatus(status)) {
    return all({ kind: "retry", reason: describeStatus(status, body), outcomeUnknown: status >= 500, retryAfterMs });
  }
  if (status >= 200 && status < 300) {
    if (route === "single") {
      const accepted = acceptedOutcome(status, body);
      return all(accepted ?? malformed(status));
    }
    const results = isObject(body) && Array.isArray(body.results) ? body.results : undefined;
    if (!results || results.length !== events) return all(malformed(status));
    const requestId = isObject(body) && typeof body.request_id === "string" ? body.request_id : undefined;
    return { kind: "each", verdicts: results.map((item) => itemVerdict(item, requestId, retryAfterMs)) };
  }
  if (route === "batch" && events > 1 && (status === 400 || status === 413)) return { kind: "split" };
  return all({ kind: "final", outcome: { status: "rejected", problem: toProblem(status, body) } });
}

function itemVerdict(item: unknown, requestId: string | undefined, retryAfterMs: number | undefined): Verdict {
  if (!isObject(item) || typeof item.status !== "number") return malformed(207);
  const accepted = acceptedOutcome(item.status, item);
  if (accepted) return accepted;
  const error = isObject(item.error) ? item.error : {};
  if (isRetryableStatus(item.status)) {
    return { kind: "retry", reason: describeStatus(item.status, error), outcomeUnknown: item.status >= 500, retryAfterMs };
  }
  const problem: ProblemDetails = {
    ...error,
    // The server points into the batch (`/events/3/payload/x`); the caller sent one event.
    ...(Array.isArray(error.errors) ? { errors: error.errors.map(relativePointer) as ProblemDetails["errors"] } : {}),
    title: typeof error.title === "string" ? error.title : `HTTP ${item.status}`,
    status: item.status,
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
  return { kind: "final", outcome: { status: "rejected", problem } };
}

function relativePointer(fieldError: unknown): unknown {
  if (!isObject(fieldError) || typeof fieldError.pointer !== "string") return fieldError;
  return { ...fieldError, pointer: fieldError.pointer.replace(/^\/events\/\d+/, "") };
}

function acceptedOutcome(status: number, body: unknown): Verdict | undefined {
  if (!isObject(body) || typeof body.event_id !== "string") return undefined;
  const eventId = body.event_id;
  if (status === 201) return { kind: "final", outcome: { status: "stored", eventId } };
  if (status === 200) return { kind: "final", outcome: { status: "duplicate", eventId } };
  if (status === 202) return { kind: "final", outcome: { status: "queued", eventId } };
  return undefined;
}

/** A 2xx we cannot read: the event may be stored, so it is retried (with its key) rather than guessed. */
function malformed(status: number): Verdict {
  return { kind: "retry", reason: `${status} with an unreadable body`, outcomeUnknown: true, retryAfterMs: undefined };
}

function describeStatus(status: number, body: unknown): string {
  return isObject(body) && typeof body.code === "string" ? `${status} ${body.code}` : String(status);
}

/** The server's problem+json as is; API Gateway's own `{"message":"Forbidden"}` made into one. */
function toProblem(status: number, body: unknown): ProblemDetails {
  if (isObject(body)) {
    const title = typeof body.title === "string" ? body.title : typeof body.message === "string" ? body.message : `HTTP ${status}`;
    return { ...body, title, status };
  }
  return { title: typeof body === "string" && body.length < 200 ? body : `HTTP ${status}`, status };
}
