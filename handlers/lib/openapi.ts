/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas, so it cannot
 * describe an API other than the one that runs. Served at GET /openapi.json and written to
 * docs/openapi.json by `npm run openapi`.
 */
import * as z from "zod/mini";
import { ROUTES, routeKey, type RouteSpec } from "../routes";
import { API_KEY_PREFIX } from "./apiKeys";
import { LIMITS, RETRY_AFTER_SECONDS } from "./limits";
import { BatchItemSchema, BatchRequestSchema, EventInputSchema, IdempotencyKeySchema, InboxQuerySchema, ListEventsQuerySchema } from "./schema";

type Json = Record<string, unknown>;

/** Example requests: the test suite checks each one against the schema it illustrates. */
export const EXAMPLES = {
  event: {
    event_type: "order.created",
    payload: { order_id: "o-1001", total: 42.5, currency: "EUR", lines: [{ sku: "A-1", qty: 2 }] },
    metadata: { tenant: "acme", source: "shop" },
    occurred_at: "2026-11-22T10:00:00+01:00",
  },
  batch: {
    events: [
      { event_type: "page.viewed", payload: { path: "/pricing" }, idempotency_key: "pv-7f3a" },
      { event_type: "signup.completed", payload: { plan: "team" } },
    ],
  },
} as const;

const schema = (s: z.ZodMiniType): Json => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string, example?: unknown) => ({
  "application/json": { schema: ref(name), ...(example === undefined ? {} : { example }) },
});
const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: ref("Problem") } } });
const retryAfter = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", example: RETRY_AFTER_SECONDS } } };

function queryParameters(s: z.ZodMiniType): Json[] {
  const properties = (schema(s).properties ?? {}) as Record<string, Json>;
  return Object.entries(properties).map(([name, p]) => ({
    name,
    in: "query",
    required: false,
    ...(typeof p.description === "string" ? { description: p.description } : {}),
    schema: p,
  }));
}

const eventIdParameter = {
  name: "event_id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^evt_[0-9A-HJKMNP-TV-Z]{26}$" },
  example: "evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN",
};

/** Request and responses per route key. Every route in the route table must have an entry. */
const OPERATIONS: Record<string, Json> = {
  "POST /events": {
    parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: schema(IdempotencyKeySchema), description: "Makes retries safe: the same key and body store one event." }],
    requestBody: { required: true, content: jsonContent("EventInput", EXAMPLES.event) },
    responses: {
      "201": { description: "Stored.", headers: { Location: { schema: { type: "string" } } }, content: jsonContent("Accepted") },
      "202": {
        description: "Queued mode (stack config ingestMode queued): durably in the ingest queue, `status: \"queued\"`; `GET` the Location answers 404 until the processor stored it.",
        headers: { Location: { schema: { type: "string" } } },
        content: jsonContent("Accepted"),
      },
      "200": { description: "An idempotent repeat: the stored event, `duplicate: true`, nothing written.", content: jsonContent("Accepted") },
      "400": problemResponse("Invalid JSON, UTF-8, Idempotency-Key or schema; `errors[].pointer` says where."),
      "413": problemResponse(`Body over maxEventBytes (default 65536) in UTF-8 bytes, or the stored item over 400 KB.`),
      "415": problemResponse("Not application/json, or a Content-Encoding other than gzip."),
      "422": problemResponse("Idempotency-Key reused with a different body."),
      "503": { ...problemResponse("Storage throttled or unavailable (`storage_unavailable`), or in queued mode the queue refused the event (`queue_unavailable`); `detail` says whether it may have been stored or queued."), headers: retryAfter },
    },
  },
  "POST /events/batch": {
    requestBody: { required: true, content: jsonContent("BatchRequest", EXAMPLES.batch) },
    responses: {
      "200": { description: "Every item stored or a duplicate.", content: jsonContent("BatchResponse") },
      "202": { description: "Queued mode: every item queued (202) or a duplicate of a stored event (200).", content: jsonContent("BatchResponse") },
      "207": { description: "Mixed results: one result per item, in order.", content: jsonContent("BatchResponse") },
      "400": problemResponse("The body is not valid JSON or not a batch envelope."),
      "413": problemResponse(`Body over ${LIMITS.batchMaxBytes} bytes.`),
      "415": problemResponse("Not application/json."),
    },
  },
  "GET /events/{event_id}": {
    parameters: [eventIdParameter],
    responses: { "200": { description: "The stored event, payload exactly as sent.", content: jsonContent("Event") }, "404": problemResponse("No such event.") },
  },
  "GET /events": {
    parameters: queryParameters(ListEventsQuerySchema),
    responses: { "200": { description: "A page, newest first.", content: jsonContent("EventPage") }, "400": problemResponse("Invalid parameter or cursor.") },
  },
  "GET /inbox": {
    parameters: queryParameters(InboxQuerySchema),
    responses: { "200": { description: "Pending events, oldest first.", content: jsonContent("EventPage") }, "400": problemResponse("Invalid parameter or cursor.") },
  },
  "POST /events/{event_id}/ack": {
    parameters: [eventIdParameter],
    responses: { "200": { description: "Delivered (`changed: false` when it already was).", content: jsonContent("AckResult") }, "404": problemResponse("No such event.") },
  },
  "GET /health": { responses: { "200": { description: "Alive.", content: { "application/json": { schema: { type: "object", properties: { status: { const: "ok" } } } } } } } },
  "GET /openapi.json": { responses: { "200": { description: "This document.", content: { "application/json": { schema: { type: "object" } } } } } },
};

const SCHEMAS: Record<string, Json> = {
  EventInput: schema(EventInputSchema),
  BatchRequest: { ...schema(BatchRequestSchema), properties: { events: { type: "array", minItems: 1, maxItems: LIMITS.batchMaxEvents, items: ref("BatchItem") } } },
  BatchItem: schema(BatchItemSchema),
  Accepted: {
    type: "object",
    required: ["event_id", "status", "created_at", "delivered_at", "request_id"],
    properties: {
      event_id: { type: "string" },
      status: { type: "string", enum: ["pending", "delivered", "failed", "replayed", "queued"] },
      created_at: { type: "string", format: "date-time" },
      delivered_at: { type: ["string", "null"], format: "date-time" },
      request_id: { type: "string" },
      duplicate: { const: true },
    },
  },
  BatchResponse: {
    type: "object",
    properties: {
      request_id: { type: "string" },
      stored: { type: "integer" },
      queued: { type: "integer", description: "Queued mode only: items in the ingest queue." },
      duplicates: { type: "integer" },
      rejected: { type: "integer" },
      results: {
        type: "array",
        items: {
          type: "object",
          required: ["index", "status"],
          properties: {
            index: { type: "integer" },
            status: { type: "integer", enum: [200, 201, 202, 400, 413, 422, 500, 503] },
            event_id: { type: "string" },
            duplicate: { const: true },
            error: { type: "object", properties: { code: { type: "string" }, title: { type: "string" }, detail: { type: "string" }, errors: { type: "array" } } },
          },
        },
      },
    },
  },
  Event: {
    type: "object",
    description: "The stored event: the request plus server-owned fields.",
    properties: {
      ...(schema(EventInputSchema).properties as Json),
      event_id: { type: "string" },
      created_at: { type: "string", format: "date-time" },
      received_at: { type: "string", format: "date-time" },
      request_id: { type: "string" },
      source: {
        type: "object",
        description: "Where the event came from: `api_key_id` (HTTP API), `webhook` (a signed webhook sender) or `pipeline` (the SNS pipeline), with the origin's delivery id where it has one.",
        properties: { api_key_id: { type: "string" }, webhook: { type: "string" }, delivery_id: { type: "string" }, pipeline: { type: "string" }, sns_message_id: { type: "string" } },
      },
      status: { type: "string", enum: ["pending", "delivered", "failed", "replayed"] },
      delivery_attempts: { type: "integer" },
      delivered_at: { type: ["string", "null"], format: "date-time" },
      ttl: { type: "integer", description: "Epoch seconds after which DynamoDB may delete the event (TTL on)." },
      schema_version: { type: "integer" },
      idempotency_key: { type: "string" },
    },
  },
  EventPage: {
    type: "object",
    properties: { items: { type: "array", items: ref("Event") }, next_cursor: { type: ["string", "null"] }, request_id: { type: "string" } },
  },
  AckResult: {
    type: "object",
    properties: {
      event_id: { type: "string" },
      status: { const: "delivered" },
      delivered_at: { type: "string", format: "date-time" },
      delivery_attempts: { type: "integer" },
      changed: { type: "boolean" },
      request_id: { type: "string" },
    },
  },
  Problem: {
    type: "object",
    description: "RFC 9457 problem details.",
    required: ["type", "title", "status", "code", "request_id"],
    properties: {
      type: { type: "string", format: "uri" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      code: { type: "string" },
      request_id: { type: "string" },
      errors: {
        type: "array",
        items: {
          type: "object",
          properties: { pointer: { type: "string", description: "RFC 6901 JSON Pointer into the body." }, header: { type: "string" }, parameter: { type: "string" }, detail: { type: "string" }, code: { type: "string" } },
        },
      },
    },
  },
};

export function buildOpenApiDocument(routes: readonly RouteSpec[] = ROUTES): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const operation = OPERATIONS[routeKey(route)];
    if (!operation) throw new Error(`the OpenAPI document has no entry for ${routeKey(route)}`);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
      summary: route.summary,
      ...(route.scope === null
        ? { security: [] }
        : {
            security: [{ apiKey: [] }],
            description: `Requires an API key with the \`${route.scope}\` scope; 401 without a key, 403 for an invalid or revoked key or a missing scope.`,
          }),
      ...operation,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "event-ingestion",
      version: "1",
      description: "HTTP event ingestion: strict validation, idempotent writes, lossless payloads. Errors are RFC 9457 problem+json.",
    },
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", bearerFormat: `${API_KEY_PREFIX}<key id>_<secret>` } },
      schemas: SCHEMAS,
    },
  };
}
