/**
 * POST /events: content type → size → Idempotency-Key → strict JSON → schema → enrichment →
 * item-size guard → conditional put. Every rejection happens before the write.
 */
import { decodeBody } from "./transport";
import { header, isJsonContentType, json, problem, type FieldError, type Response } from "./http";
import { idempotentEventId, newEventId } from "./ids";
import { readJson, JsonInputError } from "./json";
import { LIMITS } from "./limits";
import { buildEventRecord, dynamoItemSize, requestFingerprint, type EventRecord } from "./record";
import { EventInputSchema, IdempotencyKeySchema, schemaErrors, type EventInput } from "./schema";
import type { EventRepository } from "./store";
import type { IngestConfig } from "./config";
import { httpHandler, type RequestContext } from "./request";

export interface IngestDependencies {
  repository: EventRepository;
  config: IngestConfig;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

export function createIngestHandler(deps: IngestDependencies) {
  const now = deps.now ?? Date.now;
  return httpHandler(async (event, ctx) => {
    const rejected = (init: Parameters<typeof problem>[0]): Response => {
      ctx.logFields.rejected = init.code;
      return problem(init, ctx.requestId);
    };

    if (!isJsonContentType(header(event, "content-type"))) {
      return rejected({ status: 415, code: "unsupported_media_type", title: "Unsupported media type", detail: "send Content-Type: application/json" });
    }

    const body = decodeBody(event, deps.config.maxEventBytes);
    if (!body.ok) return rejected(body.problem);

    const idempotencyKey = header(event, "idempotency-key");
    if (idempotencyKey !== undefined) {
      const parsed = IdempotencyKeySchema.safeParse(idempotencyKey);
      if (!parsed.success) {
        return rejected({
          status: 400,
          code: "invalid_idempotency_key",
          title: "Invalid Idempotency-Key header",
          errors: parsed.error.issues.map((i) => ({ header: "Idempotency-Key", detail: i.message })),
        });
      }
    }

    const input = parseEventInput(body.text);
    if (!input.ok) return rejected({ status: 400, code: input.code, title: input.title, errors: input.errors });

    const caller = ctx.caller!; // the route requires a scope, so the envelope checked the caller
    const nowMs = now();
    const record = buildEventRecord(input.value, {
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
      return rejected({
        status: 413,
        code: "item_too_large",
        title: "Event too large to store",
        detail: `the stored event would be ${itemBytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}`,
      });
    }

    ctx.logFields.event_id = record.event_id;
    ctx.logFields.event_type = record.event_type;
    const outcome = await deps.repository.putNew(record);
    if (outcome.created) {
      return json(201, acceptance(record, ctx), { location: `/events/${record.event_id}` });
    }
    if (outcome.existing.request_sha256 !== requestFingerprint(input.value)) {
      return rejected({
        status: 422,
        code: "idempotency_key_reused",
        title: "Idempotency-Key reused with a different request",
        detail: "this Idempotency-Key already stored a different event; use a new key for a new event",
        errors: [{ header: "Idempotency-Key", detail: "already used for a different request body" }],
      });
    }
    ctx.logFields.duplicate = true;
    return json(200, { ...acceptance(outcome.existing, ctx), duplicate: true }, { location: `/events/${record.event_id}` });
  });
}

function acceptance(record: EventRecord, ctx: RequestContext) {
  return {
    event_id: record.event_id,
    status: record.status,
    created_at: record.created_at,
    delivered_at: record.delivered_at ?? null,
    request_id: ctx.requestId,
  };
}

type ParsedInput =
  | { ok: true; value: EventInput }
  | { ok: false; code: string; title: string; errors: FieldError[] };

/** Strict JSON (depth, numbers, keys) and then the schema; both report JSON Pointers. */
export function parseEventInput(text: string): ParsedInput {
  let document: unknown;
  try {
    // The body object is level 1, so payload (level 2) may nest LIMITS.maxPayloadDepth levels.
    document = readJson(text, { maxDepth: LIMITS.maxPayloadDepth + 1 });
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    const title = error.code === "invalid_json" ? "Request body is not valid JSON" : "Request body cannot be stored as sent";
    return { ok: false, code: error.code, title, errors: [{ pointer: error.pointer, detail: error.message, code: error.code }] };
  }
  const parsed = EventInputSchema.safeParse(document);
  if (!parsed.success) {
    return { ok: false, code: "validation_failed", title: "Request body does not match the event schema", errors: schemaErrors(parsed.error) };
  }
  return { ok: true, value: parsed.data };
}

