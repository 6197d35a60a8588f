/**
 * `npm run asyncapi`: writes docs/asyncapi.json, the AsyncAPI 3 document of what consumers receive,
 * generated from the event catalogue (events/catalog.ts) as the OpenAPI document is from the
 * routes: one message per declared type (its payload's JSON Schema, from the same zod schema the
 * ingest functions enforce) plus one for any other type, on each channel events leave the stack by:
 * - `eventStream`: the events table's stream (NEW_IMAGE), read by inline `EventStore.onEvent`
 *   consumers; each record is the stored event;
 * - `eventBridge`: the stack's EventBridge bus (config forwardToEventBridge), where the `forward`
 *   consumer (index.ts) puts each new event with `source` the project and `detail-type` its type.
 * Checked by @asyncapi/parser in test/catalog/asyncapi.test.ts, and kept up to date there.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as z from "zod/mini";
import { PROJECT_ROOT } from "../components/bundle";
import type { Catalog } from "../handlers/lib/events/catalog";
import { catalog } from "../events/catalog";

type Json = Record<string, unknown>;

export const ASYNCAPI_FILE = path.join(PROJECT_ROOT, "docs", "asyncapi.json");

/** AsyncAPI's default schema format is a superset of JSON Schema draft 07: zod writes that dialect. */
function draft7(schema: z.core.$ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-7" }) as Json;
  return rest;
}

/** Message and schema names: the event type itself where it fits AsyncAPI's component key rule. */
const key = (eventType: string) => eventType.replace(/[^A-Za-z0-9._-]/g, "_");

/** The stored event's fields every consumer sees, whatever its type (handlers/lib/events/record.ts). */
const storedEnvelope: Json = {
  type: "object",
  required: ["event_id", "event_type", "payload", "created_at", "received_at", "request_id", "source", "schema_version"],
  properties: {
    event_id: { type: "string", description: "Deduplicate on it: delivery is at least once." },
    event_type: { type: "string" },
    payload: { type: "object" },
    metadata: { type: "object", additionalProperties: { type: ["string", "number", "boolean"] } },
    occurred_at: { type: "string", format: "date-time" },
    created_at: { type: "string", format: "date-time" },
    received_at: { type: "string", format: "date-time" },
    request_id: { type: "string" },
    source: { type: "object", description: "`api_key_id`, `webhook` (+ `delivery_id`) or `pipeline` (+ `sns_message_id`)." },
    schema_version: { type: "integer", description: "Version of the stored record's format." },
    catalog: {
      description: "The catalogue's check (stack config catalogMode / unknownEventTypes): the type's schema version and whether the payload matched, or `declared: false`.",
      oneOf: [
        { type: "object", required: ["version", "valid"], properties: { version: { type: "integer", minimum: 1 }, valid: { type: "boolean" } } },
        { type: "object", required: ["declared"], properties: { declared: { const: false } } },
      ],
    },
    schema_violations: { type: "array", items: { type: "object", required: ["detail"], properties: { pointer: { type: "string" }, code: { type: "string" }, detail: { type: "string" } } } },
  },
};

export function buildAsyncApiDocument(source: Catalog = catalog): Json {
  const types = Object.entries(source.types);
  const schemas: Json = { StoredEvent: storedEnvelope };
  const messages: Json = {
    event: {
      name: "event",
      title: "Any event",
      summary: "An event of a type the catalogue does not declare (stored when the stack's unknownEventTypes allows it).",
      contentType: "application/json",
      payload: { $ref: "#/components/schemas/StoredEvent" },
    },
  };
  for (const [eventType, definition] of types) {
    schemas[key(eventType)] = {
      allOf: [
        { $ref: "#/components/schemas/StoredEvent" },
        { type: "object", properties: { event_type: { const: eventType }, payload: draft7(definition.payload), ...(definition.metadata ? { metadata: draft7(definition.metadata) } : {}) } },
      ],
    };
    messages[key(eventType)] = {
      name: eventType,
      title: eventType,
      summary: `${definition.description} Owner: ${definition.owner}. Version ${definition.version}.`,
      contentType: "application/json",
      payload: { $ref: `#/components/schemas/${key(eventType)}` },
      examples: definition.examples.map((example, i) => ({ name: `example${i + 1}`, payload: { event_type: eventType, payload: example } })),
    };
  }
  const channelMessages = Object.fromEntries(Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]));
  const operationMessages = (channel: string) => Object.keys(messages).map((name) => ({ $ref: `#/channels/${channel}/messages/${name}` }));
  return {
    asyncapi: "3.0.0",
    info: {
      title: "event-ingestion: events to consumers",
      version: "1",
      description:
        "What consumers receive from an event-ingestion stack. Every message is a stored event; its `payload` follows the declared type's schema (GET /catalog) when the stack enforces the catalogue (`catalogMode: enforce`), and `catalog.valid` says whether it matched under `warn`. Delivery is at least once: deduplicate on `event_id`.",
      license: { name: "MIT" },
    },
    defaultContentType: "application/json",
    channels: {
      eventStream: {
        address: "events-table-stream",
        title: "The events table's DynamoDB stream (NEW_IMAGE)",
        description: "Inline consumers attached with `EventStore.onEvent` get each new or changed item; the image is the stored event (plus internal attributes such as `status_shard`).",
        messages: channelMessages,
      },
      eventBridge: {
        address: "event-ingestion-{stack}-events",
        title: "The stack's EventBridge bus (forwardToEventBridge)",
        description:
          "The `forward` consumer puts each new event with `source` the project name and `detail-type` its event_type; the message below is `detail`. Integers beyond signed 64 bits travel as strings listed in `detail.string_encoded_numbers`; an event over 256 KB travels without `payload` and with `payload_omitted: \"too_large\"`.",
        parameters: { stack: { description: "The Pulumi stack name, e.g. dev or prod." } },
        messages: channelMessages,
      },
    },
    operations: {
      consumeStream: { action: "receive", title: "Consume the event stream", channel: { $ref: "#/channels/eventStream" }, messages: operationMessages("eventStream") },
      consumeEventBridge: { action: "receive", title: "Match events on the bus with a rule", channel: { $ref: "#/channels/eventBridge" }, messages: operationMessages("eventBridge") },
    },
    components: { schemas, messages },
  };
}

export function renderAsyncApi(): string {
  return JSON.stringify(buildAsyncApiDocument(), null, 2) + "\n";
}

if (require.main === module) {
  fs.writeFileSync(ASYNCAPI_FILE, renderAsyncApi());
  process.stdout.write(`wrote ${path.relative(process.cwd(), ASYNCAPI_FILE)}\n`);
}
