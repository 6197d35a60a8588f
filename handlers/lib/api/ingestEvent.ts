/**
 * POST /events and POST /events/batch. For each event: strict JSON → schema → the shared event
 * writer (enrichment → item-size guard → idempotent write). Every rejection happens before the
 * write; a batch item fails alone and is reported in its place. In queued mode (a `queue`), the
 * write step sends the prepared records to the ingest queue instead (queuedWriter.ts): 202.
 */
import { decodeBody } from "../http/transport";
import { header, isJsonContentType, json, problem, type FieldError, type ProblemInit, type Response } from "../http/http";
import { readJson, JsonInputError, writeJson, type JsonValue } from "../primitives/json";
import { LIMITS, RETRY_AFTER_SECONDS } from "../primitives/limits";
import type { EventRecord } from "../events/record";
import { createEventWriter, type EventWriterDependencies, type Prepared, type WriteFault, type WriteOutcome } from "../store/eventWriter";
import {
  BatchItemSchema,
  BatchRequestSchema,
  EventInputSchema,
  IdempotencyKeySchema,
  schemaErrors,
  type EventInput,
} from "../events/schema";
import type { EventRepository } from "../store/store";
import type { IngestConfig } from "../ops/config";
import { errorName, isStorageUnavailable, QueueSendError } from "../primitives/faults";
import { createQueuedWriter, type QueuedOutcome } from "../queue/queuedWriter";
import type { QueueSender } from "../queue/queueSender";
import { httpHandler, queueFaultDetail, type HttpEvent, type RequestContext } from "../http/request";
import { countRejection, newIngestTally, writeIngestMetrics, type IngestTally } from "../ops/metrics";

/** `catalog`: the event catalogue every event is checked against in the writer's `prepare`, under `config.catalog`. */
export interface IngestDependencies extends Pick<EventWriterDependencies, "catalog" | "onCatalogFinding"> {
  repository: EventRepository;
  config: IngestConfig;
  /** Queued mode: accepted events go to this queue (202); the table is only read, for idempotency. */
  queue?: QueueSender;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** The body is level 1, `events` 2, an item 3, so its payload (level 4) may nest 32 levels. */
const SINGLE_MAX_DEPTH = LIMITS.maxPayloadDepth + 1;
const BATCH_MAX_DEPTH = LIMITS.maxPayloadDepth + 3;

export function createIngestHandler(deps: IngestDependencies) {
  const now = deps.now ?? Date.now;

  const writer = createEventWriter(deps);
  const queued = deps.queue !== undefined;
  const sink = deps.queue
    ? createQueuedWriter({ repository: deps.repository, sender: deps.queue })
    : writer;

  /** Enrich and store one validated event that arrived through the HTTP API. */
  function prepare(input: EventInput, idempotencyKey: string | undefined, event: HttpEvent, ctx: RequestContext): Prepared {
    const caller = ctx.caller!; // both routes require a scope, so the envelope checked the caller
    return writer.prepare(input, {
      origin: { api_key_id: caller.keyId },
      requestId: ctx.requestId,
      ...(event.requestContext.timeEpoch === undefined ? {} : { receivedAtMs: event.requestContext.timeEpoch }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
  }

  async function single(event: HttpEvent, ctx: RequestContext, reject: (init: ProblemInit) => Response, tally: IngestTally): Promise<Response> {
    const body = decodeBody(event, deps.config.maxEventBytes);
    if (!body.ok) return reject(body.problem);

    const idempotencyKey = header(event, "idempotency-key");
    if (idempotencyKey !== undefined) {
      const parsed = IdempotencyKeySchema.safeParse(idempotencyKey);
      if (!parsed.success) {
        return reject({
          status: 400,
          code: "invalid_idempotency_key",
          title: "Invalid Idempotency-Key header",
          errors: parsed.error.issues.map((i) => ({ header: "Idempotency-Key", detail: i.message })),
        });
      }
    }

    const document = parseDocument(body.text, SINGLE_MAX_DEPTH);
    if (!document.ok) return reject(document.problem);
    const input = EventInputSchema.safeParse(document.value);
    if (!input.success) return reject(invalidEvent(schemaErrors(input.error)));

    const prepared = prepare(input.data, idempotencyKey, event, ctx);
    if (!prepared.ok) return reject(prepared.problem);
    const outcome = await sink.writeOne(prepared.record);
    if ("problem" in outcome) return reject(outcome.problem);
    ctx.logFields.event_id = outcome.record.event_id;
    ctx.logFields.event_type = outcome.record.event_type;
    if (outcome.status === 200) ctx.logFields.duplicate = true;
    if (outcome.status !== 200) tally.accepted += 1;
    else tally.duplicates += 1;
    return json(outcome.status, acceptance(outcome, ctx.requestId), { location: `/events/${outcome.record.event_id}` });
  }

  async function batch(event: HttpEvent, ctx: RequestContext, reject: (init: ProblemInit) => Response, tally: IngestTally): Promise<Response> {
    const body = decodeBody(event, LIMITS.batchMaxBytes);
    if (!body.ok) return reject(body.problem);
    const document = parseDocument(body.text, BATCH_MAX_DEPTH);
    if (!document.ok) return reject(document.problem);
    const envelope = BatchRequestSchema.safeParse(document.value);
    if (!envelope.success) {
      return reject({ status: 400, code: "invalid_batch", title: "Request body is not a batch of events", errors: schemaErrors(envelope.error) });
    }

    // Serializing an item again can lengthen it by at most 5/4 (an exact double such as 1e21 comes
    // back as 1e+21), so when the whole body is that far under the per-event limit, no item can
    // exceed it and the per-item measurement is skipped.
    const itemsMayBeTooLarge = (Buffer.byteLength(body.text, "utf8") * 5) / 4 > deps.config.maxEventBytes;
    // Check and enrich every item first, then write the acceptable ones together.
    const results: (BatchResult | undefined)[] = [];
    const pending: { index: number; record: EventRecord }[] = [];
    envelope.data.events.forEach((raw, index) => {
      const checked = checkBatchItem(raw, index, event, ctx, itemsMayBeTooLarge);
      if ("record" in checked) pending.push({ index, record: checked.record });
      results[index] = "record" in checked ? undefined : checked;
    });
    const written = await sink.writeMany(pending.map((p) => p.record));
    written.forEach((outcome, i) => {
      const { index } = pending[i]!;
      results[index] = batchResult(index, outcome, ctx);
    });

    return batchResponse(results as BatchResult[], ctx, tally);
  }

  /** One batch item through schema, size limit and enrichment: a record to write, or its rejection. */
  function checkBatchItem(raw: unknown, index: number, event: HttpEvent, ctx: RequestContext, measure: boolean): BatchResult | { record: EventRecord } {
    const item = BatchItemSchema.safeParse(raw);
    if (!item.success) {
      const errors = schemaErrors(item.error).map((e) => ({ ...e, pointer: `/events/${index}${e.pointer}` }));
      return { index, status: 400, error: errorBody(invalidEvent(errors)) };
    }
    const { idempotency_key: idempotencyKey, ...input } = item.data;
    const itemBytes = measure ? Buffer.byteLength(writeJson(raw as JsonValue), "utf8") : 0;
    if (itemBytes > deps.config.maxEventBytes) {
      return {
        index,
        status: 413,
        error: { code: "payload_too_large", title: "Event too large", detail: `the event is ${itemBytes} bytes; the limit is ${deps.config.maxEventBytes}` },
      };
    }
    const prepared = prepare(input, idempotencyKey, event, ctx);
    if (!prepared.ok) {
      // The catalogue points into the event; in a batch the event is /events/<index>.
      const errors = prepared.problem.errors?.map((e) => (e.pointer === undefined ? e : { ...e, pointer: `/events/${index}${e.pointer}` }));
      return { index, status: prepared.problem.status, error: errorBody({ ...prepared.problem, ...(errors ? { errors } : {}) }) };
    }
    return { record: prepared.record };
  }

  function batchResponse(results: BatchResult[], ctx: RequestContext, tally: IngestTally): Response {
    const stored = results.filter((r) => r.status === 201).length;
    const queuedCount = results.filter((r) => r.status === 202).length;
    const duplicates = results.filter((r) => r.status === 200).length;
    ctx.logFields.batch_size = results.length;
    ctx.logFields.stored = stored;
    ctx.logFields.duplicates = duplicates;
    if (queued) ctx.logFields.queued = queuedCount;
    tally.accepted += stored + queuedCount;
    tally.duplicates += duplicates;
    for (const result of results) if (result.error) countRejection(tally, result.error.code);
    const accepted = stored + queuedCount + duplicates;
    const retryable = results.some((r) => r.status === 503);
    return json(
      batchStatus({ items: results.length, accepted, queued: queuedCount }),
      {
        request_id: ctx.requestId,
        stored,
        ...(queued ? { queued: queuedCount } : {}),
        duplicates,
        rejected: results.length - accepted,
        results,
      },
      retryable ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {},
    );
  }

  return httpHandler(async (event, ctx) => {
    const tally = newIngestTally();
    const reject = (init: ProblemInit): Response => {
      ctx.logFields.rejected = init.code;
      countRejection(tally, init.code);
      return problem(init, ctx.requestId);
    };
    try {
      if (!isJsonContentType(header(event, "content-type"))) {
        return reject({ status: 415, code: "unsupported_media_type", title: "Unsupported media type", detail: "send Content-Type: application/json" });
      }
      return await (event.routeKey === "POST /events/batch" ? batch(event, ctx, reject, tally) : single(event, ctx, reject, tally));
    } catch (error) {
      countRejection(tally, error instanceof QueueSendError ? "queue_unavailable" : isStorageUnavailable(error) ? "storage_unavailable" : "internal_error");
      throw error;
    } finally {
      writeIngestMetrics(tally, { nowMs: now() });
    }
  });
}

export interface BatchResult {
  index: number;
  status: number;
  event_id?: string;
  duplicate?: true;
  error?: { code: string; title: string; detail?: string; errors?: FieldError[] };
}

/** A written batch item's result; a fault gets the 503 wording that says whether it may be stored. */
function batchResult(index: number, outcome: WriteOutcome | QueuedOutcome | WriteFault, ctx: RequestContext): BatchResult {
  if (!("error" in outcome)) {
    if ("problem" in outcome) return { index, status: outcome.status, error: errorBody(outcome.problem) };
    return { index, status: outcome.status, event_id: outcome.record.event_id, ...(outcome.status === 200 ? { duplicate: true } : {}) };
  }
  ctx.logFields.error = errorName(outcome.error) ?? "Error";
  if (outcome.status === 500) return { index, status: 500, error: { code: "internal_error", title: "Internal error" } };
  if (outcome.error instanceof QueueSendError) {
    return { index, status: 503, error: { code: "queue_unavailable", title: "The ingest queue is temporarily unavailable", detail: queueFaultDetail(outcome.error, "this item") } };
  }
  return {
    index,
    status: 503,
    error: {
      code: "storage_unavailable",
      title: "Storage is temporarily unavailable",
      detail: outcome.outcomeUnknown
        ? `Storage did not confirm this write in time; it may or may not be stored. Retry this item after ${RETRY_AFTER_SECONDS} s with the same idempotency_key: a stored event is answered as a duplicate, never stored twice.`
        : `Not stored. Retry this item after ${RETRY_AFTER_SECONDS} s; an idempotency_key makes the retry safe.`,
    },
  };
}

/** The 2xx body of a stored (or duplicate) event; webhooks answer with it too. */
export function acceptance(outcome: { record: EventRecord; status: number }, requestId: string) {
  return {
    event_id: outcome.record.event_id,
    // 202: in the queue, not in the table yet; GET /events/{id} answers 404 until the processor stored it.
    status: outcome.status === 202 ? "queued" : outcome.record.status,
    created_at: outcome.record.created_at,
    delivered_at: outcome.record.delivered_at ?? null,
    request_id: requestId,
    ...(outcome.status === 200 ? { duplicate: true } : {}),
  };
}

export function invalidEvent(errors: FieldError[]): ProblemInit {
  return { status: 400, code: "validation_failed", title: "Request body does not match the event schema", errors };
}

function errorBody(init: ProblemInit): NonNullable<BatchResult["error"]> {
  return {
    code: init.code,
    title: init.title,
    ...(init.detail === undefined ? {} : { detail: init.detail }),
    ...(init.errors === undefined ? {} : { errors: init.errors }),
  };
}

/** The strict JSON reader's verdict as a 400 with the pointer it found (webhooks share it). */
export function parseDocument(text: string, maxDepth: number): { ok: true; value: JsonValue } | { ok: false; problem: ProblemInit } {
  try {
    return { ok: true, value: readJson(text, { maxDepth }) };
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    return {
      ok: false,
      problem: {
        status: 400,
        code: error.code,
        title: error.code === "invalid_json" ? "Request body is not valid JSON" : "Request body cannot be stored as sent",
        errors: [{ pointer: error.pointer, detail: error.message, code: error.code }],
      },
    };
  }
}

/**
 * The HTTP status of a batch answer: 207 when any item was not accepted (rejected or failed, also
 * when every item was); else 202 when any was queued; else 200 (every item stored or a duplicate).
 * The README routes table and the OpenAPI document say the same (test/contract/batchStatus.test.ts).
 */
export function batchStatus(counts: { items: number; accepted: number; queued: number }): 200 | 202 | 207 {
  if (counts.accepted < counts.items) return 207;
  return counts.queued > 0 ? 202 : 200;
}
