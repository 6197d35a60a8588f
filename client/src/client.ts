/**
 * EventClient: `send` queues an event and returns a promise of its outcome; batches leave when
 * full, when the oldest waiting event has waited `flushIntervalMs`, or on `flush()`/`close()`.
 * Each batch is one request group with its own retries: events the server answered leave it, the
 * rest are sent again (with the same idempotency keys) after a backoff, until the retry budget runs
 * out. At most `maxConcurrentRequests` groups are in flight; the rest wait in the queue, which is
 * bounded by `maxQueueSize` and its overflow policy.
 */
import { backoffDelay, sleep } from "./backoff.js";
import { resolveOptions, SERVER_LIMITS, type ClientHooks, type EventClientOptions, type ResolvedOptions } from "./options.js";
import { isAccepted, type FailureReason, type SendOutcome } from "./outcomes.js";
import { batchBody, batchBytes, encodeEvent, fitsInBatch, takeCount, utf8Length, type PendingEvent, type SendOptions } from "./pendingEvent.js";
import { post } from "./transport.js";
import { judge } from "./verdicts.js";

/**
 * Event type → payload type. Give your catalogue's map as the type parameter and `send` checks
 * each payload against its event type: `new EventClient<{ "order.created": OrderCreated }>(…)`.
 */
export type EventMap = { [eventType: string]: object };
/** Without a map: any event type, any JSON object as payload. */
export type AnyEvents = { [eventType: string]: { [field: string]: unknown } };

export interface ClientStats {
  /** Sends taken into the queue. */
  enqueued: number;
  stored: number;
  duplicates: number;
  queued: number;
  rejected: number;
  /** Every `failed` outcome, overflow and sends after close included. */
  failed: number;
  /** Of those, events that overflow dropped (`dropped`) or refused (`queue_full`). */
  dropped: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Retry rounds (one per request group that had to wait and go again). */
  retries: number;
  /** Events waiting for a batch. */
  waiting: number;
  /** Events in a request group that has no outcome yet. */
  inFlight: number;
}

export interface CloseOptions {
  /** Stop waiting after this long: what is still unanswered fails as `aborted` (its outcome may be unknown). @default no limit */
  timeoutMs?: number;
}

export class EventClient<Events extends EventMap = AnyEvents> {
  // Private fields: the key is not enumerable, not in JSON.stringify, not shown by util.inspect.
  readonly #apiKey: string;
  readonly #options: ResolvedOptions;
  readonly #stop = new AbortController();
  #waiting: PendingEvent[] = [];
  #held = 0;
  #activeGroups = 0;
  #seq = 0;
  /** Events up to this sequence number leave even in a partial batch (set by the timer and flush). */
  #drainUpTo = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #waitingBytes = 0;
  readonly #unsettled = new Set<PendingEvent>();
  readonly #stats = { enqueued: 0, stored: 0, duplicates: 0, queued: 0, rejected: 0, failed: 0, dropped: 0, requests: 0, retries: 0 };

  constructor(options: EventClientOptions) {
    this.#options = resolveOptions(options);
    this.#apiKey = options.apiKey;
    const signal = this.#options.signal;
    if (signal?.aborted) this.#abort();
    else signal?.addEventListener("abort", () => this.#abort(), { once: true });
  }

  /**
   * Queues one event. Resolves with its outcome (never rejects); throws a TypeError at once for an
   * event no server would take (not a JSON object, not serializable, a malformed idempotency key).
   */
  send<T extends keyof Events & string>(eventType: T, payload: Events[T], options: SendOptions = {}): Promise<SendOutcome> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    const event = encodeEvent(this.#seq + 1, eventType, payload, options, idempotencyKey);
    if (this.#closed) return Promise.resolve(this.#refuse(idempotencyKey, "closed"));
    if (this.#held >= this.#options.maxQueueSize) {
      const oldest = this.#options.overflow === "drop-oldest" ? this.#waiting.shift() : undefined;
      if (!oldest) {
        this.#stats.dropped++;
        this.#emit("drop", { reason: "queue_full", eventType, idempotencyKey, total: this.#stats.dropped });
        return Promise.resolve(this.#refuse(idempotencyKey, "queue_full"));
      }
      this.#waitingBytes -= oldest.itemBytes;
      this.#stats.dropped++;
      this.#emit("drop", { reason: "dropped", eventType: oldest.eventType, idempotencyKey: oldest.idempotencyKey, total: this.#stats.dropped });
      this.#fail(oldest, "dropped");
    }
    this.#seq = event.seq;
    this.#held++;
    this.#stats.enqueued++;
    this.#unsettled.add(event);
    this.#waiting.push(event);
    this.#waitingBytes += event.itemBytes;
    this.#pump();
    return event.promise;
  }

  /** Sends everything queued so far, and resolves once each of those events has its outcome. */
  async flush(): Promise<void> {
    this.#drainUpTo = this.#seq;
    const pending = [...this.#unsettled].map((event) => event.promise);
    this.#pump();
    await Promise.all(pending);
  }

  /**
   * Refuses further sends (they resolve `failed`/`closed`), flushes, and resolves once every event
   * has its outcome. Idempotent. With `timeoutMs`, what is unanswered by then fails as `aborted`.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    return (this.#closing ??= this.#closeWithin(options.timeoutMs));
  }

  stats(): ClientStats {
    return { ...this.#stats, waiting: this.#waiting.length, inFlight: this.#held - this.#waiting.length };
  }

  async #closeWithin(timeoutMs: number | undefined): Promise<void> {
    const flushed = this.flush();
    if (timeoutMs !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = await Promise.race([flushed.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
      clearTimeout(timer);
      if (expired) this.#abort();
    }
    await flushed;
    this.#clearTimer();
  }

  /** Starts request groups while a slot is free and a batch is due (full, or drained by timer/flush). */
  #pump(): void {
    const { maxConcurrentRequests, maxBatchSize } = this.#options;
    while (this.#activeGroups < maxConcurrentRequests && this.#waiting.length > 0 && !this.#stop.signal.aborted) {
      const head = this.#waiting[0]!;
      // Due: a batch is full (by count or by bytes), or the timer or flush() drains up to here.
      const due = head.seq <= this.#drainUpTo || this.#waiting.length >= maxBatchSize || this.#waitingBytes > SERVER_LIMITS.batchMaxBytes;
      if (!due) break;
      const count = fitsInBatch(head) ? takeCount(this.#waiting, maxBatchSize) : 1;
      const group = this.#waiting.splice(0, count);
      for (const event of group) this.#waitingBytes -= event.itemBytes;
      this.#activeGroups++;
      void this.#deliver(group, Date.now()).finally(() => {
        this.#activeGroups--;
        this.#pump();
      });
    }
    this.#armTimer();
  }

  /** A timer runs only while events wait, so an idle client keeps no process alive. */
  #armTimer(): void {
    if (this.#waiting.length === 0) return this.#clearTimer();
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drainUpTo = this.#seq;
      this.#pump();
    }, this.#options.flushIntervalMs);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One request group: attempt, settle what was answered, back off, go again with the rest. */
  async #deliver(events: PendingEvent[], firstAttemptAt: number): Promise<void> {
    const o = this.#options;
    const queuedMs = firstAttemptAt - Math.min(...events.map((e) => e.enqueuedAt));
    let remaining = events;
    let requests = 0;
    for (let attempt = 1; remaining.length > 0; attempt++) {
      if (this.#stop.signal.aborted) {
        for (const event of remaining) this.#fail(event, "aborted");
        break;
      }
      const single = remaining.length === 1;
      const body = single ? remaining[0]!.body : batchBody(remaining);
      for (const event of remaining) event.attempts++;
      requests++;
      this.#stats.requests++;
      const result = await post({
        fetch: o.fetch,
        url: `${o.endpoint}${single ? "/events" : "/events/batch"}`,
        apiKey: this.#apiKey,
        body,
        bodyBytes: single ? utf8Length(body) : batchBytes(remaining),
        ...(single ? { idempotencyKey: remaining[0]!.idempotencyKey } : {}),
        timeoutMs: o.timeoutMs,
        gzipMinBytes: o.gzipMinBytes,
        stop: this.#stop.signal,
      });
      if (result.kind === "network" && result.stopped) {
        for (const event of remaining) {
          event.outcomeUnknown = true;
          this.#fail(event, "aborted");
        }
        break;
      }
      const verdict = judge(result, remaining.length, single ? "single" : "batch");
      if (verdict.kind === "split") {
        const half = Math.ceil(remaining.length / 2);
        await Promise.all([this.#deliver(remaining.slice(0, half), firstAttemptAt), this.#deliver(remaining.slice(half), firstAttemptAt)]);
        return;
      }
      const again: PendingEvent[] = [];
      let retryAfterMs: number | undefined;
      let reason = "";
      verdict.verdicts.forEach((v, i) => {
        const event = remaining[i]!;
        if (v.kind === "final") {
          this.#settle(event, { ...v.outcome, idempotencyKey: event.idempotencyKey, attempts: event.attempts } as SendOutcome);
          return;
        }
        event.outcomeUnknown ||= v.outcomeUnknown;
        event.lastError = v.reason;
        reason = v.reason;
        if (v.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, v.retryAfterMs);
        again.push(event);
      });
      if (again.length === 0) break;
      const delayMs = backoffDelay(attempt, o.retryBaseDelayMs, o.retryMaxDelayMs, retryAfterMs);
      if (attempt > o.maxRetries || Date.now() + delayMs - firstAttemptAt > o.maxRetryTime) {
        for (const event of again) this.#fail(event, "retries_exhausted");
        break;
      }
      this.#stats.retries++;
      this.#emit("retry", { attempt, events: again.length, reason, delayMs });
      await sleep(delayMs, this.#stop.signal);
      remaining = again;
    }
    this.#emitFlush(events, requests, firstAttemptAt, queuedMs);
  }

  #emitFlush(events: PendingEvent[], requests: number, firstAttemptAt: number, queuedMs: number): void {
    if (!this.#options.hooks.flush) return;
    let accepted = 0;
    let rejected = 0;
    for (const event of events) {
      if (event.outcome === undefined) continue;
      if (isAccepted(event.outcome)) accepted++;
      else if (event.outcome.status === "rejected") rejected++;
    }
    this.#emit("flush", { events: events.length, requests, latencyMs: Date.now() - firstAttemptAt, queuedMs, accepted, rejected, failed: events.length - accepted - rejected });
  }

  #settle(event: PendingEvent, outcome: SendOutcome): void {
    if (event.outcome !== undefined) return;
    event.outcome = outcome;
    this.#held--;
    this.#unsettled.delete(event);
    this.#count(outcome);
    event.resolve(outcome);
  }

  #fail(event: PendingEvent, reason: FailureReason): void {
    this.#settle(event, {
      status: "failed",
      reason,
      idempotencyKey: event.idempotencyKey,
      attempts: event.attempts,
      outcomeUnknown: event.outcomeUnknown,
      ...(event.lastError === undefined ? {} : { lastError: event.lastError }),
    });
  }

  #refuse(idempotencyKey: string, reason: "closed" | "queue_full"): SendOutcome {
    const outcome: SendOutcome = { status: "failed", reason, idempotencyKey, attempts: 0, outcomeUnknown: false };
    this.#count(outcome);
    return outcome;
  }

  #count(outcome: SendOutcome): void {
    const s = this.#stats;
    if (outcome.status === "stored") s.stored++;
    else if (outcome.status === "duplicate") s.duplicates++;
    else if (outcome.status === "queued") s.queued++;
    else if (outcome.status === "rejected") s.rejected++;
    else s.failed++;
  }

  /** Stop now: cancel requests in flight and backoffs, fail what waits. */
  #abort(): void {
    this.#closed = true;
    this.#stop.abort();
    this.#clearTimer();
    this.#waitingBytes = 0;
    for (const event of this.#waiting.splice(0)) this.#fail(event, "aborted");
  }

  #emit<K extends keyof ClientHooks>(name: K, info: Parameters<NonNullable<ClientHooks[K]>>[0]): void {
    try {
      (this.#options.hooks[name] as ((i: typeof info) => void) | undefined)?.(info);
    } catch {
      // A throwing hook must not break delivery.
    }
  }
}
