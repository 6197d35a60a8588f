/**
 * POST /events and POST /events/batch. For each event: strict JSON → schema → enrichment →
 * item-size guard → conditional put. Every rejection happens before the write; a batch item
 * fails alone and is reported in its place.
 */
import { decodeBody } from "./transport";
import { header, isJsonContentType, json, problem, type FieldError, type ProblemInit, type Response } from "./http";
import { idempotentEventId, newEventId } from "./ids";
import { readJson, JsonInputError, writeJson, type JsonValue } from "./json";
import { LIMITS, RETRY_AFTER_SECONDS } from "./limits";
import { buildEventRecord, dynamoItemSize, type EventRecord } from "./record";
import {
  BatchItemSchema,
  BatchRequestSchema,
  EventInputSchema,
  IdempotencyKeySchema,
  schemaErrors,
  type EventInput,
} from "./schema";
import type { EventRepository } from "./store";
import type { IngestConfig } from "./config";
import { errorName, isOutcomeUnknown, isStorageUnavailable } from "./faults";
import { httpHandler, type HttpEvent, type RequestContext } from "./request";
import { countRejection, newIngestTally, writeIngestMetrics, type IngestTally } from "./metrics";

export interface IngestDependencies {
  repository: EventRepository;
  config: IngestConfig;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** What storing one event came to. Storage faults are thrown, not returned. */
type StoreOutcome =
  | { status: 201; record: EventRecord }
  | { status: 200; record: EventRecord; duplicate: true }
  | { status: 413 | 422; problem: ProblemInit };

/** The body is level 1, `events` 2, an item 3, so its payload (level 4) may nest 32 levels. */
const SINGLE_MAX_DEPTH = LIMITS.maxPayloadDepth + 1;
const BATCH_MAX_DEPTH = LIMITS.maxPayloadDepth + 3;

export function createIngestHandler(deps: IngestDependencies) {
  const now = deps.now ?? Date.now;

  /** Enrich and store one validated event. */
  async function store(input: EventInput, idempotencyKey: string | undefined, event: HttpEvent, ctx: RequestContext): Promise<StoreOutcome> {
    const caller = ctx.caller!; // both routes require a scope, so the envelope checked the caller
    const nowMs = now();
    const record = buildEventRecord(input, {
      eventId: idempotencyKey === undefined ? newEventId(nowMs) : idempotentEventId(caller.keyId, idempotencyKey),
      nowMs,
      receivedAtMs: event.requestContext.timeEpoch ?? nowMs,
      requestId: ctx.requestId,
      apiKeyId: caller.keyId,
      statusIndexShards: deps.config.statusIndexShards,
      ...(deps.config.retentionDays === undefined ? {} : { retentionDays: deps.config.retentionDays }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });

    const itemBytes = dynamoItemSize(record as unknown as Record<string, unknown>);
    if (itemBytes > LIMITS.maxItemBytes) {
      return {
        status: 413,
        problem: {
          status: 413,
          code: "item_too_large",
          title: "Event too large to store",
          detail: `the stored event would be ${itemBytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}`,
        },
      };
    }

    const outcome = await deps.repository.putNew(record);
    if (outcome.created) return { status: 201, record };
    if (outcome.existing.request_sha256 !== record.request_sha256) {
      return {
        status: 422,
        problem: {
          status: 422,
          code: "idempotency_key_reused",
          title: "Idempotency-Key reused with a different request",
          detail: "this Idempotency-Key already stored a different event; use a new key for a new event",
          errors: [{ header: "Idempotency-Key", detail: "already used for a different request body" }],
        },
      };
    }
    return { status: 200, record: outcome.existing, duplicate: true };
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

    const outcome = await store(input.data, idempotencyKey, event, ctx);
    if ("problem" in outcome) return reject(outcome.problem);
    ctx.logFields.event_id = outcome.record.event_id;
    ctx.logFields.event_type = outcome.record.event_type;
    if (outcome.status === 200) ctx.logFields.duplicate = true;
    if (outcome.status === 201) tally.accepted += 1;
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

    const results = await Promise.all(
      envelope.data.events.map(async (raw, index): Promise<BatchResult> => {
        const item = BatchItemSchema.safeParse(raw);
        if (!item.success) {
          const errors = schemaErrors(item.error).map((e) => ({ ...e, pointer: `/events/${index}${e.pointer}` }));
          return { index, status: 400, error: errorBody(invalidEvent(errors)) };
        }
        const { idempotency_key: idempotencyKey, ...input } = item.data;
        const itemBytes = Buffer.byteLength(writeJson(raw), "utf8");
        if (itemBytes > deps.config.maxEventBytes) {
          return {
            index,
            status: 413,
            error: { code: "payload_too_large", title: "Event too large", detail: `the event is ${itemBytes} bytes; the limit is ${deps.config.maxEventBytes}` },
          };
        }
        try {
          const outcome = await store(input, idempotencyKey, event, ctx);
          if ("problem" in outcome) return { index, status: outcome.status, error: errorBody(outcome.problem) };
          return { index, status: outcome.status, event_id: outcome.record.event_id, ...(outcome.status === 200 ? { duplicate: true } : {}) };
        } catch (error) {
          const unavailable = isStorageUnavailable(error);
          ctx.logFields.error = errorName(error) ?? "Error";
          return {
            index,
            status: unavailable ? 503 : 500,
            error: unavailable
              ? { code: "storage_unavailable", title: "Storage is temporarily unavailable", detail: isOutcomeUnknown(error)
                    ? `Storage did not confirm this write in time; it may or may not be stored. Retry this item after ${RETRY_AFTER_SECONDS} s with the same idempotency_key: a stored event is answered as a duplicate, never stored twice.`
                    : `Not stored. Retry this item after ${RETRY_AFTER_SECONDS} s; an idempotency_key makes the retry safe.` }
              : { code: "internal_error", title: "Internal error" },
          };
        }
      }),
    );

    const stored = results.filter((r) => r.status === 201).length;
    const duplicates = results.filter((r) => r.status === 200).length;
    ctx.logFields.batch_size = results.length;
    ctx.logFields.stored = stored;
    ctx.logFields.duplicates = duplicates;
    tally.accepted += stored;
    tally.duplicates += duplicates;
    for (const result of results) if (result.error) countRejection(tally, result.error.code);
    const allStored = stored + duplicates === results.length;
    const retryable = results.some((r) => r.status === 503);
    return json(
      allStored ? 200 : 207,
      { request_id: ctx.requestId, stored, duplicates, rejected: results.length - stored - duplicates, results },
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
      countRejection(tally, isStorageUnavailable(error) ? "storage_unavailable" : "internal_error");
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

function acceptance(outcome: { record: EventRecord; status: number }, requestId: string) {
  return {
    event_id: outcome.record.event_id,
    status: outcome.record.status,
    created_at: outcome.record.created_at,
    delivered_at: outcome.record.delivered_at ?? null,
    request_id: requestId,
    ...(outcome.status === 200 ? { duplicate: true } : {}),
  };
}

function invalidEvent(errors: FieldError[]): ProblemInit {
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

/** The strict JSON reader's verdict as a 400 with the pointer it found. */
function parseDocument(text: string, maxDepth: number): { ok: true; value: JsonValue } | { ok: false; problem: ProblemInit } {
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
