/**
 * The request schemas: the one home for what a valid event is. Validation, the OpenAPI document
 * and the JSON Schema all derive from these.
 */
import * as z from "zod/mini";
import { en } from "zod/locales";
import { LIMITS } from "../primitives/limits";

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
/** Printable ASCII, as RFC 9110 field values allow without encoding. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]+$/;

/** Fields the server sets; a client that sends one gets a 400 that says so. */
export const SERVER_OWNED_FIELDS = [
  "event_id",
  "created_at",
  "received_at",
  "request_id",
  "source",
  "status",
  "delivery_attempts",
  "delivered_at",
  "ttl",
  "schema_version",
] as const;

// zod/mini ships no messages; English ones make the problem details readable.
z.config(en());

const metadataValue = z.union([z.string().check(z.maxLength(LIMITS.metadataValueMaxLength)), z.number(), z.boolean()], {
  error: "must be a string, number or boolean",
});

/** zod/mini, not classic zod: the same validation in a fraction of the bundle (docs/adr/0004). */
export const EventInputSchema = z.strictObject({
  event_type: describe(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(LIMITS.eventTypeMaxLength),
        z.regex(EVENT_TYPE_PATTERN, "must start with a letter or digit and contain only letters, digits and . _ : / -"),
      ),
    "What happened, e.g. `order.created`.",
  ),
  payload: describe(
    z.record(z.string(), z.unknown(), { error: "must be a JSON object" }),
    "The event body: any JSON object, stored exactly as sent.",
  ),
  metadata: z.optional(
    describe(
      z
        .record(z.string().check(z.minLength(1), z.maxLength(LIMITS.metadataKeyMaxLength)), metadataValue)
        .check(z.refine((m) => Object.keys(m).length <= LIMITS.metadataMaxKeys, `at most ${LIMITS.metadataMaxKeys} keys`)),
      "Flat string, number or boolean attributes, e.g. a source system or a tenant.",
    ),
  ),
  occurred_at: z.optional(
    describe(z.iso.datetime({ offset: true }), "When the event happened at its source, RFC 3339 with an offset."),
  ),
});

export type EventInput = z.infer<typeof EventInputSchema>;

export const IdempotencyKeySchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(LIMITS.idempotencyKeyMaxLength),
    z.regex(IDEMPOTENCY_KEY_PATTERN, "must be printable ASCII"),
  );

/** One item of POST /events/batch: an event plus its own optional idempotency key. */
export const BatchItemSchema = z.extend(EventInputSchema, {
  idempotency_key: z.optional(describe(IdempotencyKeySchema, "Like the Idempotency-Key header, for this item alone.")),
});

export type BatchItem = z.infer<typeof BatchItemSchema>;

/** The batch envelope; items are validated one by one so one bad item does not sink the rest. */
export const BatchRequestSchema = z.strictObject({
  events: describe(
    z.array(z.unknown()).check(z.minLength(1), z.maxLength(LIMITS.batchMaxEvents)),
    `1 to ${LIMITS.batchMaxEvents} events, each shaped like the body of POST /events plus an optional idempotency_key.`,
  ),
});

export const EVENT_STATUSES = ["pending", "delivered", "failed", "replayed"] as const;

/** Exactly "1" to "100" (LIMITS.listMaxLimit), as a pattern the OpenAPI document can carry. */
export const LIST_LIMIT_PATTERN = /^(?:[1-9][0-9]?|100)$/;

const limitParameter = z.optional(
  describe(
    z.string().check(z.regex(LIST_LIMIT_PATTERN, `must be a whole number from 1 to ${LIMITS.listMaxLimit}`)),
    `Page size, 1 to ${LIMITS.listMaxLimit}; default ${LIMITS.listDefaultLimit}.`,
  ),
);
const cursorParameter = z.optional(describe(z.string().check(z.minLength(1)), "next_cursor from the previous page."));

/** Query string of GET /events. */
export const ListEventsQuerySchema = z.strictObject({
  status: z.optional(describe(z.enum(EVENT_STATUSES), "Only events in this status; all statuses when absent.")),
  event_type: z.optional(
    describe(z.string().check(z.maxLength(LIMITS.eventTypeMaxLength), z.regex(EVENT_TYPE_PATTERN, "not a valid event type")), "Only events of this type; needs status (400 without it)."),
  ),
  limit: limitParameter,
  cursor: cursorParameter,
});

/** Query string of GET /inbox. */
export const InboxQuerySchema = z.strictObject({ limit: limitParameter, cursor: cursorParameter });

export interface SchemaError {
  pointer: string;
  detail: string;
  code: string;
}

/**
 * zod issues as JSON Pointers; an unknown key becomes one error per key, at that key. In a body a
 * server-owned field gets its own code; in a query string (`where: "query"`) every unknown key is
 * an `unknown_parameter`, whatever its name; inside a document such as a payload (`"document"`) an
 * `unknown_field`. `prefix` is the pointer of the validated value within the request (`/payload`).
 */
export function schemaErrors(error: z.core.$ZodError, where: "body" | "query" | "document" = "body", prefix = ""): SchemaError[] {
  return error.issues.flatMap((issue): SchemaError[] => {
    const base = prefix + toPointer(issue.path);
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const pointer = `${base}/${escapePointer(key)}`;
        if (where === "query") return { pointer, code: "unknown_parameter", detail: `unknown parameter "${key}"` };
        return where === "body" && base === "" && (SERVER_OWNED_FIELDS as readonly string[]).includes(key)
          ? { pointer, code: "server_owned_field", detail: `"${key}" is set by the server and cannot be sent` }
          : { pointer, code: "unknown_field", detail: `unknown field "${key}"` };
      });
    }
    return [{ pointer: base, code: issue.code, detail: issue.message }];
  });
}

function toPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => "/" + escapePointer(String(part))).join("");
}

function escapePointer(part: string): string {
  return part.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Attaches a description for the generated JSON Schema / OpenAPI documents. */
function describe<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema as z.ZodMiniType, { description });
  return schema;
}
