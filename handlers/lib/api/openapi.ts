/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas, so it cannot
 * describe an API other than the one that runs. Served at GET /openapi.json and written to
 * docs/openapi.json by `npm run openapi`.
 *
 * It documents every status a client can receive, with the body it really gets:
 * - the handlers' answers (OPERATIONS below), RFC 9457 problem+json for errors;
 * - API Gateway's own answers, added to every route by `gatewayResponses`: their bodies are fixed
 *   by AWS (`{"message": "…"}`, application/json), the local emulator (local/gateway.ts) answers
 *   the same. A path or method that matches no route gets API Gateway's 404 (see info.description).
 *
 * Checked in `npm test`: Redocly (recommended) and Spectral (spectral:oas) report 0 errors and no
 * warning outside LINT_WARNINGS_ACCEPTED; test/local/contract.test.ts sends a request for every
 * documented (route, status) through the local stack and validates the answer against this document.
 */
import * as z from "zod/mini";
import { ROUTES, routeKey, type RouteSpec } from "../../routes";
import { API_KEY_PREFIX } from "../auth/apiKeys";
import { AWS_LIMITS, LIMITS, RETRY_AFTER_SECONDS } from "../primitives/limits";
import { BatchItemSchema, BatchRequestSchema, EventInputSchema, EVENT_STATUSES, IdempotencyKeySchema, InboxQuerySchema, ListEventsQuerySchema } from "../events/schema";
import type { Catalog } from "../events/catalog";
import { catalogEventSchemas, catalogSchemaName } from "./catalogDocument";

type Json = Record<string, unknown>;

/** Lint warnings the document keeps on purpose, by rule id, with the reason. */
export const LINT_WARNINGS_ACCEPTED: Record<string, string> = {
  // Each deployment belongs to whoever ran `pulumi up`: there is no contact to name here.
  "info-contact": "no contact: each deployment belongs to whoever deployed it",
};

/** Example requests: the test suite checks each one against the schema it illustrates. */
export const EXAMPLES = {
  event: {
    event_type: "order.created",
    payload: { order_id: "o-1001", total: 42.5, currency: "EUR", lines: [{ sku: "A-1", qty: 2 }] },
    metadata: { tenant: "acme", source: "shop" },
    occurred_at: "2026-11-22T10:00:00+01:00",
  },
  webhook: { action: "opened", number: 7, pull_request: { title: "Fix the build" }, repository: { full_name: "acme/app" } },
  batch: {
    events: [
      { event_type: "page.viewed", payload: { path: "/pricing" }, idempotency_key: "pv-7f3a" },
      { event_type: "signup.completed", payload: { plan: "team" } },
    ],
  },
} as const;

/** API Gateway HTTP API quotas behind its own answers (docs: "Quotas … HTTP API"). */
const GATEWAY_QUOTAS = { payloadBytes: AWS_LIMITS.httpApiPayloadBytes, requestLineAndHeaderBytes: 10_240, integrationTimeoutSeconds: 30 };

/** Tags, in the order a reader meets them; every operation has exactly one. */
const TAGS = [
  { name: "Ingest", description: "Store events: one at a time or in batches, idempotent with a key." },
  { name: "Read", description: "Read stored events: one by id, filtered listings, the inbox of pending events." },
  { name: "Delivery", description: "Mark events delivered once a consumer has handled them." },
  { name: "Catalog", description: "The declared event types: each one's payload schema, owner and version (the event catalogue)." },
  { name: "Webhooks", description: "Signed deliveries from GitHub, Stripe and Standard Webhooks senders; the signature is the authentication, no API key." },
  { name: "Service", description: "Liveness and this document; no API key needed." },
] as const;
type Tag = (typeof TAGS)[number]["name"];

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const schema = (s: z.ZodMiniType): Json => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string, example?: unknown) => ({
  "application/json": { schema: ref(name), ...(example === undefined ? {} : { example }) },
});

/** `apigw-requestid`: set by API Gateway on every answer, its own and the functions'. */
const gatewayRequestId = { "apigw-requestid": { $ref: "#/components/headers/ApiGatewayRequestId" } };

interface ResponseDoc {
  description: string;
  headers?: Json;
  content: Json;
}

/** A JSON answer from a handler. */
const ok = (description: string, schemaName: string, headers: Json = {}): ResponseDoc => ({
  description,
  headers: { ...gatewayRequestId, ...headers },
  content: jsonContent(schemaName),
});

/** An RFC 9457 problem from a handler. */
const problem = (description: string, headers: Json = {}): ResponseDoc => ({
  description,
  headers: { ...gatewayRequestId, ...headers },
  content: { "application/problem+json": { schema: ref("Problem") } },
});

/** API Gateway's own answer: `{"message": …}` as application/json, no function ran. */
const gatewayAnswer = (description: string, message: string): ResponseDoc => ({
  description,
  headers: gatewayRequestId,
  content: { "application/json": { schema: ref("GatewayError"), example: { message } } },
});

/** One status answered by both a handler and API Gateway: one response, two media types. */
function either(handler: ResponseDoc, gateway: ResponseDoc): ResponseDoc {
  return {
    description: `From the function: ${handler.description} From API Gateway (\`{"message"}\`): ${gateway.description}`,
    headers: { ...gateway.headers, ...handler.headers },
    content: { ...gateway.content, ...handler.content },
  };
}

const retryAfter = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", example: RETRY_AFTER_SECONDS } } };
const location = { Location: { description: "Where the stored event can be read.", required: true, schema: { type: "string", example: "/events/evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN" } } };

function queryParameters(s: z.ZodMiniType): Json[] {
  const properties = (schema(s).properties ?? {}) as Record<string, Json>;
  return Object.entries(properties).map(([name, { description, ...p }]) => ({
    name,
    in: "query",
    required: false,
    ...(typeof description === "string" ? { description } : {}),
    schema: p,
  }));
}

const eventIdParameter = {
  name: "event_id",
  in: "path",
  required: true,
  description: "The `event_id` the event was stored under.",
  schema: { type: "string", pattern: "^evt_[0-9A-HJKMNP-TV-Z]{26}$" },
  example: "evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN",
};

// The zod schema also carries the batch item's description; the header gets its own.
const { description: _batchItemDescription, ...idempotencyKeyHeaderSchema } = schema(IdempotencyKeySchema);

// ---------------------------------------------------------------------------------------------
// Operations: what each handler answers. Every route in the route table must have an entry;
// API Gateway's answers (401/403 on authorized routes, 413, 429, 431, 500, 503) are added to all.
// ---------------------------------------------------------------------------------------------

interface OperationDoc {
  tag: Tag;
  /** What the operation does; authorized routes get the key requirement appended. */
  description: string;
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, ResponseDoc>;
}

const storageUnavailable = problem("Storage throttled or unavailable; nothing stored (or, when the detail says so, maybe stored: retry with the same key).", retryAfter);

const OPERATIONS: Record<string, OperationDoc> = {
  "POST /events": {
    tag: "Ingest",
    description: "Validates one event, adds the server-owned fields and stores it. With an `Idempotency-Key`, a retry of the same request answers 200 with the stored event instead of storing it twice.",
    parameters: [
      {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: "Makes retries safe: a repeat with the same key and body stores nothing and answers 200 `duplicate: true`; the same key with a different body answers 422. The event id is derived from the key.",
        schema: idempotencyKeyHeaderSchema,
        example: "order-1001-created",
      },
    ],
    requestBody: { required: true, content: jsonContent("EventRequest", EXAMPLES.event) },
    responses: {
      "201": ok("Stored.", "Accepted", location),
      "202": ok("Queued mode (stack config ingestMode queued): durably in the ingest queue, `status: \"queued\"`; `GET` the Location answers 404 until the processor stored it.", "Accepted", location),
      "200": ok("An idempotent repeat: the stored event, `duplicate: true`, nothing written.", "Accepted", location),
      "400": problem("Invalid JSON, UTF-8, Idempotency-Key or schema; `errors[].pointer` says where. With the event catalogue enforced (stack config `catalogMode: enforce`), `schema_violation` when the payload does not match its type's schema (pointers such as `/payload/total`); with `unknownEventTypes: reject`, `unknown_event_type`."),
      "413": problem(`Body over maxEventBytes (default 65536, at most 5 MiB) in UTF-8 bytes; in queued mode, an event too large for SQS's 1 MiB even compressed.`),
      "415": problem("Not application/json, or a Content-Encoding other than gzip."),
      "422": problem("Idempotency-Key reused with a different body."),
      "503": problem("Storage throttled or unavailable (`storage_unavailable`), or in queued mode the queue refused the event (`queue_unavailable`); `detail` says whether it may have been stored or queued.", retryAfter),
    },
  },
  "POST /events/batch": {
    tag: "Ingest",
    description: `Stores 1 to ${LIMITS.batchMaxEvents} events; each item is validated and stored on its own and gets one result, in order. Items with an \`idempotency_key\` are idempotent like POST /events with the header.`,
    requestBody: { required: true, content: jsonContent("BatchRequest", EXAMPLES.batch) },
    responses: {
      "200": ok("Every item stored or a duplicate; none queued.", "BatchResponse"),
      "202": ok("Queued mode: every item queued (202) or a duplicate of a stored event (200), at least one queued.", "BatchResponse"),
      "207": ok("At least one item rejected or failed, also when every item was: one result per item, in order; `Retry-After` when an item may be retried.", "BatchResponse", retryAfter),
      "400": problem("The body is not valid JSON or not a batch envelope."),
      "413": problem(`Body over ${LIMITS.batchMaxBytes} bytes.`),
      "415": problem("Not application/json, or a Content-Encoding other than gzip."),
    },
  },
  "GET /events/{event_id}": {
    tag: "Read",
    description: "The stored event, its payload exactly as sent.",
    parameters: [eventIdParameter],
    responses: {
      "200": ok("The stored event.", "Event"),
      "404": problem("No such event."),
      "503": storageUnavailable,
    },
  },
  "GET /events": {
    tag: "Read",
    description: "Stored events, newest first, optionally of one status and one type. Follow `next_cursor` for the next page; it is bound to the query it came from.",
    parameters: queryParameters(ListEventsQuerySchema),
    responses: {
      "200": ok("A page, newest first.", "EventPage"),
      "400": problem("Unknown or invalid parameter, or a cursor that is altered or from another query; `errors[].parameter` says which."),
      "503": storageUnavailable,
    },
  },
  "GET /inbox": {
    tag: "Read",
    description: "Pending events, oldest first: what a consumer has not acknowledged yet.",
    parameters: queryParameters(InboxQuerySchema),
    responses: {
      "200": ok("A page of pending events, oldest first.", "EventPage"),
      "400": problem("Unknown or invalid parameter, or a cursor that is altered or from another query; `errors[].parameter` says which."),
      "503": storageUnavailable,
    },
  },
  "POST /events/{event_id}/ack": {
    tag: "Delivery",
    description: "Marks the event delivered. Idempotent: acknowledging it again changes nothing and answers `changed: false`.",
    parameters: [eventIdParameter],
    responses: {
      "200": ok("Delivered (`changed: false` when it already was).", "AckResult"),
      "404": problem("No such event."),
      "503": storageUnavailable,
    },
  },
  "GET /events/{event_id}/deliveries": {
    tag: "Delivery",
    description:
      "The event's pushes to its subscriptions: each subscription's delivery state (pending, delivered or failed, its current `webhook-id`, attempts and replays) and every attempt (time, HTTP status or error, latency, the first 1 KB of the answer), kept for the delivery log's retention. Empty lists when no subscription matched.",
    parameters: [eventIdParameter],
    responses: {
      "200": ok("The delivery state and the attempts, oldest first.", "Deliveries"),
      "404": problem("No such event."),
      "503": storageUnavailable,
    },
  },
  "POST /events/{event_id}/replay": {
    tag: "Delivery",
    description:
      "Delivers the event again to every subscription its type matches, or with `?subscription=NAME` to that one, with a new `webhook-id` and the full retry schedule; the attempt history stays. The event's status becomes `replayed`.",
    parameters: [
      eventIdParameter,
      { name: "subscription", in: "query", required: false, description: "Replay to this subscription only.", schema: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,39}$" }, example: "orders" },
    ],
    responses: {
      "202": ok("Queued for delivery again; `deliveries` lists each subscription and its new webhook-id.", "ReplayResult"),
      "400": problem("Unknown query parameter, or `unknown_subscription`."),
      "404": problem("No such event."),
      "409": problem("`no_matching_subscription`: no subscription's filter matches the event type (or the stack has none)."),
      "503": storageUnavailable,
    },
  },
  "POST /webhooks/{source}": {
    tag: "Webhooks",
    description:
      "No API key: each delivery is authenticated by its sender's signature over the raw body (Standard Webhooks `webhook-id`/`webhook-timestamp`/`webhook-signature`, GitHub `X-Hub-Signature-256`/`X-GitHub-Delivery`/`X-GitHub-Event`, Stripe `Stripe-Signature`), then stored (or, in queued mode, queued) like POST /events with the delivery id as idempotency key.",
    parameters: [{ name: "source", in: "path", required: true, description: "A configured webhook source (config webhookSources).", schema: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,39}$" }, example: "github" }],
    requestBody: { required: true, content: jsonContent("WebhookPayload", EXAMPLES.webhook) },
    responses: {
      "201": ok("Verified and stored.", "Accepted", location),
      "202": ok("Queued mode (stack config ingestMode queued): verified and durably in the ingest queue, `status: \"queued\"`; `GET` the Location answers 404 until the processor stored it.", "Accepted", location),
      "200": ok("A redelivery of a stored delivery id: `duplicate: true`, nothing written.", "Accepted", location),
      "400": problem("Verified, but the body cannot be stored as sent (the 400s of POST /events)."),
      "401": problem("`unknown_source`, `missing_signature_headers`, `invalid_signature` or `timestamp_out_of_tolerance`; nothing stored."),
      "413": problem("Body over maxWebhookBytes (default 1048576, at most 5 MiB); in queued mode, a delivery too large for SQS's 1 MiB even compressed."),
      "415": problem("Verified, but not application/json."),
      "503": problem("The secrets (`secrets_unavailable`) or storage cannot be reached, or in queued mode the queue refused the delivery (`queue_unavailable`); nothing stored (or, when the detail says so, maybe stored or queued: the sender's retry is answered as a duplicate or collapses into one event).", retryAfter),
    },
  },
  "GET /health": {
    tag: "Service",
    description: "Answers 200 while the API and its functions run; touches no storage.",
    responses: { "200": ok("Alive.", "Health") },
  },
  "GET /catalog": {
    tag: "Catalog",
    description: "The event catalogue this stack was built with: every declared event type with its version, owner, description, examples and the JSON Schema (draft 2020-12) of its payload, generated from the same zod schemas the ingest functions enforce.",
    responses: { "200": ok("The declared event types, sorted by name.", "Catalog") },
  },
  "GET /openapi.json": {
    tag: "Service",
    description: "This OpenAPI 3.1 document, generated from the route table and the request schemas.",
    responses: { "200": ok("This document.", "OpenApiDocument") },
  },
};

/** API Gateway's answers on a route: before, around or instead of its function. */
function gatewayResponses(route: RouteSpec): Record<string, ResponseDoc> {
  const always: Record<string, ResponseDoc> = {
    "413": gatewayAnswer(`The request body is over API Gateway's ${GATEWAY_QUOTAS.payloadBytes}-byte payload quota; no function ran.`, "Request Entity Too Large"),
    "429": gatewayAnswer("The stage's throttling rate or burst limit is exceeded; retry with backoff. (Deployed stacks only: the local stack does not throttle.)", "Too Many Requests"),
    "431": gatewayAnswer(`The request line and header values are over API Gateway's ${GATEWAY_QUOTAS.requestLineAndHeaderBytes}-byte quota; no function ran.`, "Request Header Fields Too Large"),
    "500": gatewayAnswer("The function (or the authorizer) failed or timed out.", "Internal Server Error"),
    "503": gatewayAnswer(`The function did not answer within the ${GATEWAY_QUOTAS.integrationTimeoutSeconds} s integration timeout.`, "Service Unavailable"),
  };
  if (route.scope === null) return always;
  return {
    ...always,
    "401": gatewayAnswer("No `Authorization` header; the authorizer is not called.", "Unauthorized"),
    "403": gatewayAnswer("The authorizer denies the key: unknown, malformed, wrong secret or revoked.", "Forbidden"),
  };
}

/** The handler's answer for `status` and API Gateway's, merged when both can answer it. */
function responsesFor(route: RouteSpec, operation: OperationDoc): Record<string, ResponseDoc> {
  const handler: Record<string, ResponseDoc> = { ...operation.responses };
  if (route.scope !== null) {
    handler["403"] = problem(`The key lacks the \`${route.scope}\` scope (\`insufficient_scope\`, with \`WWW-Authenticate\`).`, {
      "WWW-Authenticate": { description: "`Bearer error=\"insufficient_scope\", scope=\"…\"`", schema: { type: "string" } },
    });
  }
  handler["500"] ??= problem("An unexpected error in the function; no details are given.");
  const gateway = gatewayResponses(route);
  const statuses = [...new Set([...Object.keys(handler), ...Object.keys(gateway)])].sort();
  return Object.fromEntries(
    statuses.map((status) => {
      const [h, g] = [handler[status], gateway[status]];
      return [status, h && g ? either(h, g) : (h ?? g)!];
    }),
  );
}

function operationId(route: RouteSpec): string {
  return `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`;
}

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

const eventStatus = { type: "string", enum: [...EVENT_STATUSES] };

const SCHEMAS: Record<string, Json> = {
  EventInput: schema(EventInputSchema),
  BatchRequest: { ...schema(BatchRequestSchema), properties: { events: { type: "array", minItems: 1, maxItems: LIMITS.batchMaxEvents, items: ref("BatchItem") } } },
  BatchItem: schema(BatchItemSchema),
  WebhookPayload: { ...schema(EventInputSchema.shape.payload), description: "The sender's JSON object, stored exactly as sent as the event's payload." },
  Accepted: {
    type: "object",
    required: ["event_id", "status", "created_at", "delivered_at", "request_id"],
    properties: {
      event_id: { type: "string" },
      status: { type: "string", enum: [...EVENT_STATUSES, "queued"], description: "`queued` in queued mode: in the ingest queue, not yet stored." },
      created_at: { type: "string", format: "date-time" },
      delivered_at: { type: ["string", "null"], format: "date-time" },
      request_id: { type: "string" },
      duplicate: { const: true },
    },
  },
  BatchResponse: {
    type: "object",
    required: ["request_id", "stored", "duplicates", "rejected", "results"],
    properties: {
      request_id: { type: "string" },
      stored: { type: "integer" },
      queued: { type: "integer", description: "Queued mode only: items in the ingest queue." },
      duplicates: { type: "integer" },
      rejected: { type: "integer" },
      results: { type: "array", items: ref("BatchResult") },
    },
  },
  BatchResult: {
    type: "object",
    description: "What became of one item: `event_id` when stored (201) or a duplicate (200), `error` otherwise.",
    required: ["index", "status"],
    properties: {
      index: { type: "integer", description: "The item's position in `events`." },
      status: { type: "integer", enum: [200, 201, 202, 400, 413, 422, 500, 503] },
      event_id: { type: "string" },
      duplicate: { const: true },
      error: {
        type: "object",
        required: ["code", "title"],
        properties: { code: { type: "string" }, title: { type: "string" }, detail: { type: "string" }, errors: { type: "array", items: ref("FieldError") } },
      },
    },
  },
  Event: {
    type: "object",
    description: "The stored event: the request plus server-owned fields.",
    required: ["event_id", "event_type", "payload", "created_at", "received_at", "request_id", "source", "status", "delivery_attempts", "delivered_at", "schema_version"],
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
      status: eventStatus,
      delivery_attempts: { type: "integer" },
      delivered_at: { type: ["string", "null"], format: "date-time" },
      ttl: { type: "integer", description: "Epoch seconds after which DynamoDB may delete the event (TTL on)." },
      schema_version: { type: "integer" },
      catalog: {
        description: "The event catalogue's check, when the stack runs one: the version of the type's schema the event was checked against and whether it matched, or `declared: false` for an undeclared type under `unknownEventTypes: warn`.",
        oneOf: [
          { type: "object", required: ["version", "valid"], properties: { version: { type: "integer", minimum: 1 }, valid: { type: "boolean" } }, additionalProperties: false },
          { type: "object", required: ["declared"], properties: { declared: { const: false } }, additionalProperties: false },
        ],
      },
      schema_violations: { type: "array", description: "Under `catalogMode: warn`: what did not match, as pointers into the event.", items: ref("FieldError") },
    },
  },
  EventPage: {
    type: "object",
    required: ["items", "next_cursor", "request_id"],
    properties: { items: { type: "array", items: ref("Event") }, next_cursor: { type: ["string", "null"] }, request_id: { type: "string" } },
  },
  AckResult: {
    type: "object",
    required: ["event_id", "status", "delivered_at", "delivery_attempts", "changed", "request_id"],
    properties: {
      event_id: { type: "string" },
      status: { const: "delivered" },
      delivered_at: { type: "string", format: "date-time" },
      delivery_attempts: { type: "integer" },
      changed: { type: "boolean" },
      request_id: { type: "string" },
    },
  },
  Deliveries: {
    type: "object",
    required: ["event_id", "status", "delivery_attempts", "subscriptions", "attempts", "request_id"],
    properties: {
      event_id: { type: "string" },
      status: eventStatus,
      delivery_attempts: { type: "integer", description: "Real attempts over every subscription (and acks)." },
      subscriptions: {
        type: "array",
        items: {
          type: "object",
          required: ["subscription", "state", "webhook_id", "attempts"],
          properties: {
            subscription: { type: "string" },
            state: { enum: ["pending", "delivered", "failed"] },
            webhook_id: { type: "string", description: "The current delivery's `webhook-id` (new after each replay)." },
            attempts: { type: "integer" },
            replays: { type: "integer" },
            last_attempt_at: { type: ["string", "null"], format: "date-time" },
            delivered_at: { type: ["string", "null"], format: "date-time" },
            failed_at: { type: ["string", "null"], format: "date-time" },
          },
        },
      },
      attempts: {
        type: "array",
        items: {
          type: "object",
          required: ["subscription", "webhook_id", "attempt", "attempted_at", "ok", "status_code", "error", "latency_ms", "response_body"],
          properties: {
            subscription: { type: "string" },
            webhook_id: { type: "string" },
            attempt: { type: "integer", description: "1-based, within its webhook-id." },
            attempted_at: { type: "string", format: "date-time" },
            ok: { type: "boolean" },
            status_code: { type: ["integer", "null"] },
            error: { type: ["string", "null"], description: "`timeout`, `refused_address: …`, `ECONNREFUSED`, …" },
            latency_ms: { type: "integer" },
            response_body: { type: "string", description: "The first 1 KB of the answer." },
          },
        },
      },
      request_id: { type: "string" },
    },
  },
  ReplayResult: {
    type: "object",
    required: ["event_id", "status", "deliveries", "request_id"],
    properties: {
      event_id: { type: "string" },
      status: { const: "replayed" },
      deliveries: { type: "array", items: { type: "object", required: ["subscription", "webhook_id"], properties: { subscription: { type: "string" }, webhook_id: { type: "string" } } } },
      request_id: { type: "string" },
    },
  },
  Health: { type: "object", required: ["status"], properties: { status: { const: "ok" } } },
  Catalog: {
    type: "object",
    required: ["types", "request_id"],
    properties: { types: { type: "array", items: ref("CatalogEntry") }, request_id: { type: "string" } },
  },
  CatalogEntry: {
    type: "object",
    required: ["event_type", "version", "description", "owner", "payload_schema", "examples"],
    properties: {
      event_type: { type: "string" },
      version: { type: "integer", minimum: 1, description: "Raised on every breaking change to the type's schemas." },
      description: { type: "string" },
      owner: { type: "string" },
      deprecated: { type: "string", description: "Present when producers should move on, saying to what." },
      payload_schema: { type: "object", description: "JSON Schema (draft 2020-12) of the payload." },
      metadata_schema: { type: "object", description: "JSON Schema of the metadata, when the type declares one." },
      examples: { type: "array", items: { type: "object" } },
    },
  },
  OpenApiDocument: {
    type: "object",
    description: "An OpenAPI 3.1 document.",
    required: ["openapi", "info", "paths"],
    properties: { openapi: { type: "string" }, info: { type: "object" }, paths: { type: "object" } },
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
      errors: { type: "array", items: ref("FieldError") },
    },
  },
  FieldError: {
    type: "object",
    description: "One problem in the request: where (exactly one of pointer, header, parameter) and what.",
    required: ["detail"],
    properties: {
      pointer: { type: "string", description: "RFC 6901 JSON Pointer into the body." },
      header: { type: "string" },
      parameter: { type: "string", description: "A query string parameter." },
      detail: { type: "string" },
      code: { type: "string" },
    },
  },
  GatewayError: {
    type: "object",
    description: "API Gateway's own answer (the body is fixed by AWS): no function produced it, so it is not problem+json and has no request_id; `apigw-requestid` identifies the request.",
    required: ["message"],
    properties: { message: { type: "string" } },
    additionalProperties: false,
  },
};

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

const DESCRIPTION = `HTTP event ingestion: strict validation, idempotent writes, lossless payloads.

Errors from the API are RFC 9457 \`application/problem+json\` with a \`request_id\`. API Gateway answers some requests itself, before or instead of a function, with \`{"message": "…"}\` as \`application/json\`: 401 without an \`Authorization\` header, 403 when the key is denied, 404 \`{"message":"Not Found"}\` for a method and path that match no route, 413 over ${GATEWAY_QUOTAS.payloadBytes} bytes of body, 429 when throttled, 431 over ${GATEWAY_QUOTAS.requestLineAndHeaderBytes} bytes of request line and header values, 500 when a function fails and 503 after the ${GATEWAY_QUOTAS.integrationTimeoutSeconds} s integration timeout. Every answer carries \`apigw-requestid\`.`;

/**
 * The document for `routes`, with the per-type event schemas of `catalog` (events/catalog.ts; the
 * entries and `npm run openapi` pass it): `DeclaredEvent` is a oneOf over them with a discriminator
 * on `event_type`; the request body is that or any other event (`EventInput`), since whether an
 * undeclared type or a mismatch is refused is the stack's `catalogMode` / `unknownEventTypes`.
 */
export function buildOpenApiDocument(routes: readonly RouteSpec[] = ROUTES, catalog: Catalog = { types: {} }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const operation = OPERATIONS[routeKey(route)];
    if (!operation) throw new Error(`the OpenAPI document has no entry for ${routeKey(route)}`);
    const { tag, description, responses: _responses, ...request } = operation;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: operationId(route),
      summary: route.summary,
      description:
        route.scope === null
          ? `${description} No API key needed.`
          : `${description}\n\nRequires an API key with the \`${route.scope}\` scope: 401 without a key, 403 for an invalid or revoked key or a missing scope.`,
      tags: [tag],
      security: route.scope === null ? [] : [{ apiKey: [] }],
      ...request,
      responses: responsesFor(route, operation),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "event-ingestion",
      version: "1",
      description: DESCRIPTION,
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [
      {
        url: "https://{apiId}.execute-api.{region}.amazonaws.com",
        description: "A deployed stack: its `apiUrl` stack output (or `https://<your domain>` with a custom domain).",
        variables: {
          apiId: { default: "abcde12345", description: "The HTTP API's id, from `pulumi stack output apiUrl`." },
          region: { default: "eu-north-1", description: "The stack's `aws:region`." },
        },
      },
      { url: "http://127.0.0.1:3000", description: "The local stack (`npm run dev`, PORT 3000)." },
    ],
    security: [{ apiKey: [] }],
    tags: TAGS.map((t) => ({ ...t })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", bearerFormat: `${API_KEY_PREFIX}<key id>_<secret>`, description: "An API key from `npm run keys -- create`." },
      },
      headers: {
        ApiGatewayRequestId: { description: "API Gateway's id for this request; quote it when asking about one.", required: true, schema: { type: "string" } },
      },
      schemas: { ...SCHEMAS, ...catalogSchemas(catalog) },
    },
  };
}

/** The request schema of POST /events, and one event schema per declared type. */
function catalogSchemas(catalog: Catalog): Record<string, Json> {
  const names = Object.keys(catalog.types);
  if (names.length === 0) return { EventRequest: { ...ref("EventInput") } };
  return {
    EventRequest: {
      description: "An event of a declared type (DeclaredEvent: its payload matches the type's schema) or, unless the stack refuses them, of any other type (EventInput).",
      anyOf: [ref("DeclaredEvent"), ref("EventInput")],
    },
    DeclaredEvent: {
      description: "An event of one of the types declared in the event catalogue (GET /catalog), chosen by `event_type`.",
      oneOf: names.map((name) => ref(catalogSchemaName(name))),
      discriminator: { propertyName: "event_type", mapping: Object.fromEntries(names.map((name) => [name, `#/components/schemas/${catalogSchemaName(name)}`])) },
    },
    ...catalogEventSchemas(catalog, schema(EventInputSchema)),
  };
}
