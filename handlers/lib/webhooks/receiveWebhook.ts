/**
 * POST /webhooks/{source}: a signed delivery becomes a normal event. Verification comes first and
 * looks only at what the scheme needs (headers and the raw bytes, base64-decoded when API Gateway
 * encoded them); nothing is parsed before the signature holds, and no secret is read before the
 * signature headers are present and the signed timestamp is in the window. Then the same path as POST /events:
 * strict JSON reader → event schema → the shared event writer. The delivery id is the idempotency
 * key, so a redelivery is answered 200 and stored once.
 *
 * Rejections write nothing: 401 with the code of the failed check (and nothing else a forger could
 * use), 413 for a body over maxEventBytes, the 400/415/422 of POST /events for verified content
 * that cannot be stored as sent, 503 when the secrets or the table cannot be reached.
 */
import { header, isJsonContentType, json, problem, type ProblemInit, type Response } from "../http/http";
import { acceptance, invalidEvent, parseDocument } from "../api/ingestEvent";
import { createEventWriter, type EventWriter, type EventWriterDependencies, type WriteOutcome } from "../store/eventWriter";
import { createQueuedWriter, type QueuedOutcome } from "../queue/queuedWriter";
import type { QueueSender } from "../queue/queueSender";
import type { EventRecord } from "../events/record";
import { LIMITS, RETRY_AFTER_SECONDS } from "../primitives/limits";
import { EVENT_TYPE_PATTERN, EventInputSchema, IdempotencyKeySchema, schemaErrors } from "../events/schema";
import { httpHandler, type HttpEvent, type RequestContext } from "../http/request";
import { decodeBody } from "../http/transport";
import { SecretsUnavailableError, type SecretStore } from "./secrets";
import { verifySignature, type VerificationFailure, type WebhookScheme } from "./signatures";
import type { WebhookConfig, WebhookSource } from "./sources";
import type { JsonValue } from "../primitives/json";

export interface WebhookDependencies {
  config: WebhookConfig & { maxEventBytes: number };
  secrets: SecretStore;
  /**
   * Enrichment and the idempotent write (webhookWriter). In direct mode the event writer itself; in
   * queued mode a writer whose `writeOne` sends the record to the ingest queue and answers 202 (or
   * 413 when the message would be too large), with no change to this handler.
   */
  writer: WebhookWriter;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

export type WebhookWriter = Pick<EventWriter, "prepare"> & { writeOne(record: EventRecord): Promise<WriteOutcome | QueuedOutcome> };
export type { QueuedOutcome };

/**
 * The writer for the stack's ingestMode, as POST /events chooses it: the event writer (direct), or
 * with a `queue` (queued) its `prepare` and the queued writer's `writeOne`: 202 once SQS holds the
 * record; a delivery id already stored is answered 200 duplicate after one GetItem, and repeats
 * still in the queue collapse into one item in the processor (docs/adr/0016).
 */
export function webhookWriter(deps: EventWriterDependencies & { queue?: QueueSender }): WebhookWriter {
  const events = createEventWriter(deps);
  if (!deps.queue) return events;
  const queued = createQueuedWriter({ repository: deps.repository, sender: deps.queue });
  return { prepare: events.prepare, writeOne: queued.writeOne };
}

/** Title per failed check: the code names the check; nothing says what the right value would be. */
const UNAUTHORIZED_TITLES: Record<VerificationFailure, string> = {
  unknown_source: "Unknown webhook source",
  missing_signature_headers: "Signature headers missing",
  invalid_signature: "Signature does not verify",
  timestamp_out_of_tolerance: "Signature timestamp outside the accepted window",
};

/** The header carrying a scheme's delivery id (Stripe's is the event `id` in the body). */
const DELIVERY_ID_HEADER: Record<WebhookScheme, string | undefined> = {
  standard: "webhook-id",
  github: "X-GitHub-Delivery",
  stripe: undefined,
};

export function createWebhookHandler(deps: WebhookDependencies) {
  const now = deps.now ?? Date.now;

  async function receive(event: HttpEvent, ctx: RequestContext): Promise<Response> {
    const reject = (init: ProblemInit): Response => {
      ctx.logFields.rejected = init.code;
      return problem(init, ctx.requestId);
    };
    const unauthorized = (code: VerificationFailure) => reject({ status: 401, code, title: UNAUTHORIZED_TITLES[code] });

    const source = deps.config.sources.get(event.pathParameters?.source ?? "");
    if (!source) return unauthorized("unknown_source");
    ctx.logFields.webhook_source = source.name;

    const raw = rawBytes(event);
    if (raw.length > deps.config.maxEventBytes) {
      return reject({ status: 413, code: "payload_too_large", title: "Request body too large", detail: `the limit is ${deps.config.maxEventBytes} bytes` });
    }

    const lookup = (name: string) => header(event, name);
    const window = { nowSeconds: Math.floor(now() / 1000), toleranceSeconds: deps.config.toleranceSeconds };
    // The checks that need no secret first (headers present, timestamp in the window): verifying
    // against no secrets fails with their code, so an unsigned or stale request causes no SSM read.
    const unsigned = verifySignature(source.scheme, lookup, raw, { secrets: [], ...window });
    if (!unsigned.ok && unsigned.code !== "invalid_signature") return unauthorized(unsigned.code);
    const secrets = await deps.secrets.secretsOf(source);
    const verified = verifySignature(source.scheme, lookup, raw, { secrets, ...window });
    if (!verified.ok) return unauthorized(verified.code);

    // Verified: from here on, exactly what POST /events does with a body.
    if (!isJsonContentType(header(event, "content-type"))) {
      return reject({ status: 415, code: "unsupported_media_type", title: "Unsupported media type", detail: "configure the sender to send application/json" });
    }
    const body = decodeBody(event, deps.config.maxEventBytes);
    if (!body.ok) return reject(body.problem);
    const document = parseDocument(body.text, LIMITS.maxPayloadDepth);
    if (!document.ok) return reject(document.problem);

    const input = EventInputSchema.safeParse({ event_type: eventType(source, verified.eventName, document.value), payload: document.value });
    if (!input.success) {
      // The body is the payload: point into the body, not into the event envelope.
      return reject(invalidEvent(schemaErrors(input.error).map((e) => ({ ...e, pointer: e.pointer.replace(/^\/payload/, "") }))));
    }

    const deliveryId = verified.deliveryId ?? stripeEventId(document.value);
    if (deliveryId !== undefined && !IdempotencyKeySchema.safeParse(deliveryId).success) {
      const where = DELIVERY_ID_HEADER[source.scheme];
      return reject({
        status: 400,
        code: "invalid_idempotency_key",
        title: "Invalid delivery id",
        errors: [{ ...(where ? { header: where } : { pointer: "/id" }), detail: "must be 1 to 255 printable ASCII characters" }],
      });
    }
    ctx.logFields.delivery_id = deliveryId;

    const prepared = deps.writer.prepare(input.data, {
      origin: { webhook: source.name, ...(deliveryId === undefined ? {} : { delivery_id: deliveryId }) },
      requestId: ctx.requestId,
      ...(event.requestContext.timeEpoch === undefined ? {} : { receivedAtMs: event.requestContext.timeEpoch }),
      ...(deliveryId === undefined ? {} : { idempotencyKey: deliveryId }),
    });
    // The body is the payload: the catalogue's /payload/… pointers point into the body.
    if (!prepared.ok) return reject(intoBody(prepared.problem));
    const outcome = await deps.writer.writeOne(prepared.record);
    if ("problem" in outcome) return reject(outcome.problem);
    ctx.logFields.event_id = outcome.record.event_id;
    ctx.logFields.event_type = outcome.record.event_type;
    if (outcome.status === 200) ctx.logFields.duplicate = true;
    const accepted = acceptance(outcome, ctx.requestId);
    return json(outcome.status, outcome.status === 202 ? { ...accepted, status: "queued" } : accepted, { location: `/events/${outcome.record.event_id}` });
  }

  return httpHandler(async (event, ctx) => {
    try {
      return await receive(event, ctx);
    } catch (error) {
      if (!(error instanceof SecretsUnavailableError)) throw error;
      ctx.logFields.error = `SecretsUnavailable: ${error.reason}`;
      return problem(
        {
          status: 503,
          code: "secrets_unavailable",
          title: "Cannot verify deliveries right now",
          detail: "Nothing was stored. Retry after the delay in Retry-After.",
          headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
        },
        ctx.requestId,
      );
    }
  });
}

/**
 * A problem whose pointers address the event (`/payload/ref`), re-pointed at the delivered body
 * (`/ref`); a pointer outside the payload (`/event_type`, which the handler derived) is dropped.
 */
function intoBody(init: ProblemInit): ProblemInit {
  if (init.errors === undefined) return init;
  const errors = init.errors.map(({ pointer, ...rest }) => (pointer?.startsWith("/payload") ? { ...rest, pointer: pointer.slice("/payload".length) } : rest));
  return { ...init, errors };
}

/** The bytes the sender signed: API Gateway base64-encodes bodies it does not treat as text. */
function rawBytes(event: Pick<HttpEvent, "body" | "isBase64Encoded">): Buffer {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
}

/**
 * The sender's event type: GitHub `X-GitHub-Event` + `.` + `action`, Stripe and Standard Webhooks
 * the payload's `type`; `webhook.<source>` when there is none or it does not fit the event_type
 * rules (source names always do), so a verified delivery is never refused for its type.
 */
export function eventType(source: WebhookSource, githubEvent: string | undefined, payload: JsonValue): string {
  const field = (name: string): string | undefined => {
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
    const value = (payload as Record<string, JsonValue>)[name];
    return typeof value === "string" ? value : undefined;
  };
  const action = field("action");
  const candidate =
    source.scheme === "github" ? (githubEvent && action ? `${githubEvent}.${action}` : githubEvent) : field("type");
  const fits = candidate !== undefined && candidate.length <= LIMITS.eventTypeMaxLength && EVENT_TYPE_PATTERN.test(candidate);
  return fits ? candidate : `webhook.${source.name}`;
}

/** Stripe redelivers an event with the same `id` (`evt_…`); it is the delivery id. */
function stripeEventId(payload: JsonValue): string | undefined {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  const id = (payload as Record<string, JsonValue>).id;
  return typeof id === "string" ? id : undefined;
}
