/**
 * The catalogue in the contract: per-type event schemas in the OpenAPI document (a oneOf with a
 * discriminator on event_type, generated from the zod schemas), and GET /catalog, served by the
 * openapi function to a key with the read scope. Redocly, Spectral and Prism see the same document
 * in test/contract (lint.test.ts, contract.test.ts).
 */
import { expect } from "chai";
import { catalog } from "../../events/catalog";
import { buildOpenApiDocument, EXAMPLES } from "../../handlers/lib/api/openapi";
import { catalogListing, catalogSchemaName, jsonSchemaOf } from "../../handlers/lib/api/catalogDocument";
import { checkCatalog } from "../../handlers/lib/events/catalog";
import { findRoute, HANDLERS, ROUTES } from "../../handlers/routes";
import { handler as openapiHandler } from "../../handlers/openapi";
import { httpEvent } from "../support/events";
import { expectProblem, jsonBody } from "../support/http";
import { captureLogs } from "../support/logs";

type Schema = Record<string, any>;

describe("the event catalogue in the contract", () => {
  const doc = buildOpenApiDocument(ROUTES, catalog) as { components: { schemas: Record<string, Schema> }; paths: Record<string, Record<string, Schema>> };
  const schemas = doc.components.schemas;
  const declared = Object.keys(catalog.types);

  describe("OpenAPI", () => {
    it("has one event schema per declared type: event_type fixed, payload the type's JSON Schema", () => {
      for (const name of declared) {
        const schema = schemas[catalogSchemaName(name)]!;
        expect(schema, name).to.be.an("object");
        expect(schema.properties.event_type).to.deep.equal({ type: "string", const: name });
        expect(schema.properties.payload).to.deep.equal(jsonSchemaOf(catalog.types[name as keyof typeof catalog.types].payload));
        expect(schema.required).to.include.members(["event_type", "payload"]);
        expect(schema.additionalProperties).to.equal(false);
      }
    });

    it("DeclaredEvent is a oneOf over them with a discriminator on event_type mapping every declared type", () => {
      const declaredEvent = schemas.DeclaredEvent!;
      expect(declaredEvent.oneOf.map((r: { $ref: string }) => r.$ref)).to.have.members(declared.map((n) => `#/components/schemas/${catalogSchemaName(n)}`));
      expect(declaredEvent.discriminator.propertyName).to.equal("event_type");
      expect(Object.keys(declaredEvent.discriminator.mapping)).to.have.members(declared);
    });

    it("POST /events takes a declared event or any other (the stack decides whether to refuse), and its example matches its declared type", () => {
      const body = doc.paths["/events"]!.post!.requestBody.content["application/json"];
      expect(body.schema).to.deep.equal({ $ref: "#/components/schemas/EventRequest" });
      expect(schemas.EventRequest!.anyOf).to.deep.equal([{ $ref: "#/components/schemas/DeclaredEvent" }, { $ref: "#/components/schemas/EventInput" }]);
      expect(checkCatalog(catalog, { mode: "enforce", unknownEventTypes: "reject" }, EXAMPLES.event)).to.include({ ok: true });
    });

    it("documents what a stored event records about the check: catalog and schema_violations", () => {
      expect(schemas.Event!.properties).to.have.property("catalog");
      expect(schemas.Event!.properties).to.have.property("schema_violations");
    });

    it("falls back to EventInput alone for an empty catalogue", () => {
      const empty = buildOpenApiDocument(ROUTES) as { components: { schemas: Record<string, Schema> } };
      expect(empty.components.schemas.EventRequest).to.deep.equal({ $ref: "#/components/schemas/EventInput" });
      expect(empty.components.schemas).not.to.have.property("DeclaredEvent");
    });
  });

  describe("GET /catalog", () => {
    it("is a read-scope route on the openapi function, which has no storage grant", () => {
      expect(findRoute("GET /catalog")).to.deep.include({ handler: "openapi", scope: "read" });
      expect(HANDLERS.openapi.eventsTableActions).to.deep.equal([]);
    });

    it("lists every declared type, sorted, with version, owner, description, examples and the payload's JSON Schema", async () => {
      const logs = captureLogs();
      const event = httpEvent({ routeKey: "GET /catalog", headers: { "content-type": undefined }, caller: { key_id: "0123456789abcdef", scopes: "read" } });
      const response = await openapiHandler(event).finally(() => logs.restore());
      expect(response.statusCode, response.body).to.equal(200);
      const body = jsonBody<{ types: { event_type: string; version: number; owner: string; payload_schema: Schema; examples: unknown[] }[]; request_id: string }>(response);
      expect(body.request_id).to.equal(event.requestContext.requestId);
      expect(body.types.map((t) => t.event_type)).to.deep.equal([...declared].sort());
      const order = body.types.find((t) => t.event_type === "order.created")!;
      expect(order).to.include({ version: 1, owner: "team-checkout" });
      expect(order.payload_schema.required).to.include.members(["order_id", "total", "currency", "lines"]);
      expect(order.payload_schema.properties.lines.items.properties.qty).to.deep.include({ type: "integer", exclusiveMinimum: 0 });
      expect(body).to.deep.equal({ ...JSON.parse(JSON.stringify(catalogListing(catalog))), request_id: event.requestContext.requestId });
    });

    it("answers 403 insufficient_scope to a key without the read scope", async () => {
      const logs = captureLogs();
      const event = httpEvent({ routeKey: "GET /catalog", headers: { "content-type": undefined }, caller: { key_id: "0123456789abcdef", scopes: "ingest" } });
      const response = await openapiHandler(event).finally(() => logs.restore());
      expectProblem(response, event, 403, "insufficient_scope");
    });
  });
});
