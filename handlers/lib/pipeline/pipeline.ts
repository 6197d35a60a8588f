/**
 * The SNS pipeline's own stages, as plain functions (the Lambda entries are handlers/pipelineValidate.ts
 * and handlers/pipelineStore.ts):
 * - `acceptMessage` reads one buffered SNS message with the same strict JSON reader and schema as
 *   POST /events, and names its idempotency key: the `dedupe_key` message attribute when the
 *   publisher set one, otherwise the SNS message id;
 * - `storeAccepted` re-checks what the user's stages made of the event (same reader, same schema)
 *   and stores it through the shared event writer, idempotently.
 * A rejection throws a `PipelineError` whose name the state machine routes on: `EventRejected` and
 * `IdempotencyConflict` are permanent (to the failure queue at once), `StorageUnavailable` is retried.
 */
import { createHash } from "node:crypto";
import type { EventWriter } from "../store/eventWriter";
import { isStorageUnavailable } from "../primitives/faults";
import { readJson, JsonInputError, NumberValue, type JsonValue } from "../primitives/json";
import { LIMITS } from "../primitives/limits";
import { EventInputSchema, IdempotencyKeySchema, schemaErrors, type EventInput } from "../events/schema";
import { checkCatalog, type Catalog } from "../events/catalog";
import { CATALOG_POLICY_OFF, type CatalogPolicy } from "../ops/config";

/** Environment variables of the pipeline's own stages (besides the event store's, handlers/lib/ops/config.ts). */
export const PIPELINE_ENV = { name: "PIPELINE_NAME" } as const;

/** The message attribute a publisher sets to make two publications one event. */
export const DEDUPE_KEY_ATTRIBUTE = "dedupe_key";

/** Error names the state machine routes on (components/pipelineDefinition.ts). */
export const PIPELINE_ERRORS = {
  /** The message is not an event we can store; retrying cannot help. */
  rejected: "EventRejected",
  /** The idempotency key already stored a different message. */
  conflict: "IdempotencyConflict",
  /** Storage throttled or unreachable after the client's retries; the state machine retries. */
  unavailable: "StorageUnavailable",
  /** The convention for a user's stage: throw an error with this name to be retried with backoff. */
  transient: "TransientError",
} as const;

export class PipelineError extends Error {
  constructor(
    name: (typeof PIPELINE_ERRORS)[keyof typeof PIPELINE_ERRORS],
    /** Machine-readable reason, e.g. `validation_failed`. */
    readonly code: string,
    message: string,
    readonly errors: { pointer?: string; detail: string; code?: string }[] = [],
  ) {
    // The message is the Step Functions `Cause`: the code and the field errors, as JSON.
    super(JSON.stringify({ code, detail: message, ...(errors.length > 0 ? { errors } : {}) }));
    this.name = name;
  }
}

/** The SQS message as EventBridge Pipes hands it to the state machine (one element of the batch). */
export interface BufferedMessage {
  messageId: string;
  body: string;
  messageAttributes?: Record<string, { stringValue?: string; dataType?: string }>;
}

/** What the pipeline knows about where an event came from; user stages may read it, never change it. */
export interface PipelineOrigin {
  pipeline: string;
  /** The SNS message id (the SQS message id when the body is not an SNS notification). */
  message_id: string;
  /** `dedupe_key` when set, else `message_id`: the event id is derived from it. */
  idempotency_key: string;
  /** When SNS accepted the publication (RFC 3339); absent for a body that is not an SNS notification. */
  published_at?: string;
  topic_arn?: string;
  /** SHA-256 of the message as published: a redelivery is a duplicate even if a stage is not deterministic. */
  message_sha256: string;
}

/** An event as stages see it: the body of POST /events, as plain JSON. */
export interface PipelineEvent {
  event_type: string;
  payload: Record<string, any>;
  metadata?: Record<string, string | number | boolean>;
  occurred_at?: string;
}

/** What every stage after validation receives, and what the store stage receives. */
export interface AcceptedEvent {
  event: PipelineEvent;
  origin: PipelineOrigin;
}

export interface AcceptOptions {
  pipeline: string;
  maxEventBytes: number;
  /** The event catalogue and the stack's policy: under enforce / reject, a mismatch is refused here, before any stage runs. */
  catalog?: Catalog;
  catalogPolicy?: CatalogPolicy;
}

/** The body of POST /events is level 1, so a payload may nest 32 levels, as over HTTP. */
const EVENT_MAX_DEPTH = LIMITS.maxPayloadDepth + 1;

/** The validation stage: one buffered message → the accepted event, or `EventRejected`. */
export function acceptMessage(message: BufferedMessage, options: AcceptOptions): AcceptedEvent {
  const publication = unwrapNotification(message);
  const bytes = Buffer.byteLength(publication.text, "utf8");
  if (bytes > options.maxEventBytes) {
    throw new PipelineError(PIPELINE_ERRORS.rejected, "payload_too_large", `the message is ${bytes} bytes; the limit is ${options.maxEventBytes}`);
  }
  const dedupeKey = publication.attributes[DEDUPE_KEY_ATTRIBUTE];
  if (dedupeKey !== undefined && !IdempotencyKeySchema.safeParse(dedupeKey).success) {
    throw new PipelineError(PIPELINE_ERRORS.rejected, "invalid_dedupe_key", `the ${DEDUPE_KEY_ATTRIBUTE} attribute must be 1 to ${LIMITS.idempotencyKeyMaxLength} printable ASCII characters`);
  }
  const event = validEvent(publication.text, "the message");
  // Only a refusal matters here; a warning is recorded by the store stage's own check (the
  // shared event writer), on the event as the stages leave it.
  const verdict = checkCatalog(options.catalog ?? { types: {} }, options.catalogPolicy ?? CATALOG_POLICY_OFF, event);
  if (!verdict.ok) throw new PipelineError(PIPELINE_ERRORS.rejected, verdict.problem.code, `the message: ${verdict.problem.title}`, verdict.problem.errors ?? []);
  return {
    event,
    origin: {
      pipeline: options.pipeline,
      message_id: publication.messageId,
      idempotency_key: dedupeKey ?? publication.messageId,
      ...(publication.publishedAt === undefined ? {} : { published_at: publication.publishedAt }),
      ...(publication.topicArn === undefined ? {} : { topic_arn: publication.topicArn }),
      message_sha256: createHash("sha256").update(publication.text).digest("hex"),
    },
  };
}

/**
 * The strict reader and the schema of POST /events, applied to JSON text. Numbers a double cannot
 * carry are refused here: stages exchange JSON through Step Functions and Lambda, where such a
 * number would be rounded without anyone noticing.
 */
export function validEvent(text: string, what: string): PipelineEvent {
  let document: JsonValue;
  try {
    document = readJson(text, { maxDepth: EVENT_MAX_DEPTH });
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    throw new PipelineError(PIPELINE_ERRORS.rejected, error.code, `${what} is not an event this pipeline can store`, [
      { pointer: error.pointer, detail: error.message, code: error.code },
    ]);
  }
  const parsed = EventInputSchema.safeParse(document);
  if (!parsed.success) {
    throw new PipelineError(PIPELINE_ERRORS.rejected, "validation_failed", `${what} does not match the event schema`, schemaErrors(parsed.error));
  }
  const inexact = inexactNumber(parsed.data.payload, "/payload");
  if (inexact !== undefined) {
    throw new PipelineError(PIPELINE_ERRORS.rejected, "number_not_exact", "pipeline stages receive numbers as doubles", [
      { pointer: inexact, code: "number_not_exact", detail: "a double cannot hold this number exactly; send it as a string" },
    ]);
  }
  return parsed.data as EventInput as PipelineEvent;
}

/**
 * The ids a log line about a buffered message carries: `message_id` is always the SNS MessageId
 * (as on the "stored" line), absent when the body is not an SNS notification; the SQS record's own
 * id goes under `sqs_message_id`.
 */
export function messageLogIds(message: BufferedMessage): { message_id?: string; sqs_message_id: string } {
  let envelope: unknown;
  try {
    envelope = JSON.parse(message.body);
  } catch {
    envelope = undefined;
  }
  return { ...(isNotification(envelope) ? { message_id: envelope.MessageId } : {}), sqs_message_id: message.messageId };
}

interface Publication {
  text: string;
  messageId: string;
  attributes: Record<string, string>;
  publishedAt?: string;
  topicArn?: string;
}

/**
 * An SNS notification envelope (the subscription delivers without raw delivery, so the SNS message
 * id is there to key on; docs/adr/0018), or any other body as it is, keyed on the SQS message id.
 */
function unwrapNotification(message: BufferedMessage): Publication {
  let envelope: unknown;
  try {
    envelope = JSON.parse(message.body);
  } catch {
    envelope = undefined;
  }
  if (isNotification(envelope)) {
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(envelope.MessageAttributes ?? {})) {
      if (typeof value?.Value === "string") attributes[name] = value.Value;
    }
    return {
      text: envelope.Message,
      messageId: envelope.MessageId,
      attributes,
      ...(typeof envelope.Timestamp === "string" ? { publishedAt: envelope.Timestamp } : {}),
      ...(typeof envelope.TopicArn === "string" ? { topicArn: envelope.TopicArn } : {}),
    };
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.messageAttributes ?? {})) {
    if (typeof value?.stringValue === "string") attributes[name] = value.stringValue;
  }
  return { text: message.body, messageId: message.messageId, attributes };
}

interface Notification {
  Type: "Notification";
  MessageId: string;
  Message: string;
  TopicArn?: string;
  Timestamp?: string;
  MessageAttributes?: Record<string, { Type?: string; Value?: string }>;
}

function isNotification(value: unknown): value is Notification {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return v.Type === "Notification" && typeof v.MessageId === "string" && typeof v.Message === "string";
}

/** The pointer of the first NumberValue inside `value`, if any. Depth is bounded by the reader. */
function inexactNumber(value: unknown, pointer: string): string | undefined {
  if (value instanceof NumberValue) return pointer;
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = inexactNumber(child, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** What the store stage answers (the state machine's output for the message). */
export interface StoreResult {
  event_id: string;
  /** True when this message (same SNS message id or dedupe_key) was stored before. */
  duplicate: boolean;
}

/**
 * The store stage: what the user's stages returned goes through the same reader and schema again
 * (a stage cannot store a server-owned field, a prototype key or a 40-level payload), then through
 * the shared event writer with the origin's idempotency key.
 */
export async function storeAccepted(accepted: AcceptedEvent, writer: Pick<EventWriter, "prepare" | "writeOne">): Promise<StoreResult> {
  const { origin } = accepted;
  const event = validEvent(JSON.stringify(accepted.event ?? null), "the event the stages returned");
  const prepared = writer.prepare(event as EventInput, {
    origin: { pipeline: origin.pipeline, sns_message_id: origin.message_id },
    idempotencyKey: origin.idempotency_key,
    requestId: origin.message_id,
    ...(origin.published_at === undefined ? {} : { receivedAtMs: Date.parse(origin.published_at) }),
  });
  if (!prepared.ok) throw new PipelineError(PIPELINE_ERRORS.rejected, prepared.problem.code, prepared.problem.detail ?? prepared.problem.title, prepared.problem.errors ?? []);
  // The same publication is the same event even when a stage is not deterministic (a rate lookup,
  // a timestamp): duplicates are judged on what was published, not on what the stages made of it.
  const record = { ...prepared.record, request_sha256: origin.message_sha256 };
  let outcome: Awaited<ReturnType<EventWriter["writeOne"]>>;
  try {
    outcome = await writer.writeOne(record);
  } catch (error) {
    if (!isStorageUnavailable(error)) throw error;
    throw new PipelineError(PIPELINE_ERRORS.unavailable, "storage_unavailable", "storage is throttled or unreachable; the write may or may not have happened, and a retry is idempotent");
  }
  if (outcome.status === 422) {
    throw new PipelineError(PIPELINE_ERRORS.conflict, "idempotency_key_reused", `the key "${origin.idempotency_key}" already stored a different message; publish a new event with a new ${DEDUPE_KEY_ATTRIBUTE}`);
  }
  return { event_id: outcome.record.event_id, duplicate: outcome.status === 200 };
}
