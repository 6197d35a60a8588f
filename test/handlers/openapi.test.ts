/** GET /openapi.json and docs/openapi.json: generated from the route table and the zod schemas. */
import { expect } from "chai";
import * as fs from "node:fs";
import type * as z from "zod/mini";
import { OPENAPI_FILE, renderOpenApi } from "../../cli/openapi";
import { buildOpenApiDocument, EXAMPLES } from "../../handlers/lib/api/openapi";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { BatchItemSchema, BatchRequestSchema, EventInputSchema, ListEventsQuerySchema } from "../../handlers/lib/events/schema";
import { ROUTES } from "../../handlers/routes";
import { catalog } from "../../events/catalog";
import { handler as openapiHandler } from "../../handlers/openapi";
import { httpEvent } from "../support/events";
import { jsonBody } from "../support/http";
import { captureLogs } from "../support/logs";

type Operation = { requestBody?: { content: Record<string, { schema: { $ref: string }; example?: unknown }> }; security: unknown[]; responses: Record<string, unknown> };

/** The zod schema each request-body component in the document stands for. */
const COMPONENT_SCHEMAS: Record<string, z.ZodMiniType> = {
  EventInput: EventInputSchema,
  // Any event is an EventInput; a declared type's example is also checked against the catalogue (test/catalog/contract.test.ts).
  EventRequest: EventInputSchema,
  BatchRequest: BatchRequestSchema,
  WebhookPayload: EventInputSchema.shape.payload,
};

describe("OpenAPI document", () => {
  const doc = buildOpenApiDocument(ROUTES, catalog) as { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

  it("is OpenAPI 3.1 and documents every route of the route table, with its security", () => {
    expect(doc.openapi).to.equal("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented).to.have.members(ROUTES.map((r) => `${r.method} ${r.path}`));
    for (const route of ROUTES) {
      const operation = doc.paths[route.path]![route.method.toLowerCase()]!;
      expect(operation.security, `${route.method} ${route.path}`).to.deep.equal(route.scope === null ? [] : [{ apiKey: [] }]);
      expect(Object.keys(operation.responses).length).to.be.greaterThan(0);
    }
  });

  it("fails to build when a route has no documentation entry", () => {
    expect(() => buildOpenApiDocument([...ROUTES, { method: "GET", path: "/undocumented", handler: "health", scope: null, summary: "x" }])).to.throw(/no entry for GET \/undocumented/);
  });

  it("has example requests that pass the schemas they illustrate", () => {
    let checked = 0;
    for (const ops of Object.values(doc.paths)) {
      for (const operation of Object.values(ops)) {
        for (const media of Object.values(operation.requestBody?.content ?? {})) {
          const name = media.schema.$ref.split("/").pop()!;
          const schema = COMPONENT_SCHEMAS[name];
          expect(schema, `a zod schema for ${name}`).to.not.equal(undefined);
          expect(media.example, `${name} example`).to.not.equal(undefined);
          const result = schema!.safeParse(media.example);
          expect(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`).to.equal(true);
          checked++;
        }
      }
    }
    expect(checked).to.equal(3);
    for (const item of EXAMPLES.batch.events) expect(BatchItemSchema.safeParse(item).success).to.equal(true);
  });

  it("derives its request schemas from zod: the event_type pattern and limits are those the handler enforces", () => {
    const input = doc.components.schemas.EventInput as { properties: Record<string, { pattern?: string; maxLength?: number }>; required: string[]; additionalProperties: boolean };
    expect(input.properties.event_type).to.include({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]*$", maxLength: 100 });
    expect(input.required).to.have.members(["event_type", "payload"]);
    expect(input.additionalProperties).to.equal(false);
  });

  it("documents `limit` with a pattern that accepts exactly the page sizes the handler accepts, 1 to 100", () => {
    const limit = (doc.paths["/events"]!.get as unknown as { parameters: { name: string; schema: { pattern: string } }[] }).parameters.find((p) => p.name === "limit")!;
    const pattern = new RegExp(limit.schema.pattern, "u");
    for (let n = -1; n <= 1000; n++) {
      const accepted = ListEventsQuerySchema.safeParse({ limit: String(n) }).success;
      expect(pattern.test(String(n)), `limit=${n}`).to.equal(accepted);
      expect(accepted, `limit=${n}`).to.equal(n >= 1 && n <= LIMITS.listMaxLimit);
    }
    for (const text of ["01", "1.0", "1e2", " 5", ""]) expect(pattern.test(text) || ListEventsQuerySchema.safeParse({ limit: text }).success, text).to.equal(false);
  });

  it("describes the Idempotency-Key header of POST /events as the header, not as the batch item's field", () => {
    const [header] = (doc.paths["/events"]!.post as unknown as { parameters: { name: string; description: string; schema: Record<string, unknown> }[] }).parameters;
    expect(header!.name).to.equal("Idempotency-Key");
    expect(header!.description).to.match(/repeat with the same key and body/);
    expect(header!.schema).to.not.have.property("description");
    const item = doc.components.schemas.BatchItem as { properties: { idempotency_key: { description: string } } };
    expect(item.properties.idempotency_key.description).to.match(/for this item alone/);
  });

  it("lists 401 and 403 on every route that needs a key, neither on public routes, and only the handler's 401 on signed ones", () => {
    for (const route of ROUTES) {
      const statuses = Object.keys(doc.paths[route.path]![route.method.toLowerCase()]!.responses);
      if (route.auth === "signature") expect(statuses.filter((s) => s === "401" || s === "403"), route.path).to.deep.equal(["401"]);
      else if (route.scope === null) expect(statuses.filter((s) => s === "401" || s === "403"), route.path).to.deep.equal([]);
      else expect(statuses, route.path).to.include.members(["401", "403"]);
    }
  });

  it("is committed up to date in docs/openapi.json (run `npm run openapi` after changing routes or schemas)", () => {
    expect(fs.readFileSync(OPENAPI_FILE, "utf8")).to.equal(renderOpenApi());
  });

  it("is served by GET /openapi.json without authentication", async () => {
    const logs = captureLogs();
    const response = await openapiHandler(httpEvent({ routeKey: "GET /openapi.json", caller: null, headers: { "content-type": undefined } })).finally(() => logs.restore());
    expect(response.statusCode).to.equal(200);
    expect(jsonBody(response)).to.deep.equal(JSON.parse(JSON.stringify(doc)));
  });
});
