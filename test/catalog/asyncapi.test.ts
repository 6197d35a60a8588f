/**
 * docs/asyncapi.json, what consumers receive, as the AsyncAPI parser sees it: a valid AsyncAPI 3
 * document with no error diagnostic, one message per declared type on each consumer channel, and
 * committed up to date (`npm run asyncapi`).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { Parser } from "@asyncapi/parser";
import { ASYNCAPI_FILE, buildAsyncApiDocument, renderAsyncApi } from "../../cli/asyncapi";
import { catalog } from "../../events/catalog";

describe("AsyncAPI document (docs/asyncapi.json)", function () {
  this.timeout(30_000);

  it("parses as AsyncAPI 3 with no error diagnostics", async () => {
    const { document, diagnostics } = await new Parser().parse(renderAsyncApi());
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join(".")}: ${d.message}`)).to.deep.equal([]);
    expect(document).not.to.equal(undefined);
    expect(document!.version()).to.equal("3.0.0");
    const channel = document!.channels().get("eventBridge")!;
    expect(channel.messages().all().map((m) => m.name())).to.include.members(Object.keys(catalog.types));
  });

  it("would report an invalid document (the check can fail)", async () => {
    const broken = { ...buildAsyncApiDocument(), operations: { consume: { action: "listen", channel: { $ref: "#/channels/eventStream" } } } };
    const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
    expect(diagnostics.filter((d) => d.severity === 0)).to.have.length.greaterThan(0);
  });

  it("carries each declared type's payload schema and examples in its message", () => {
    const doc = buildAsyncApiDocument() as { components: { schemas: Record<string, { allOf: { properties?: Record<string, unknown> }[] }>; messages: Record<string, { examples: unknown[] }> } };
    const order = doc.components.schemas["order.created"]!.allOf[1]!.properties!;
    expect(order.event_type).to.deep.equal({ const: "order.created" });
    expect((order.payload as { required: string[] }).required).to.include.members(["order_id", "total", "currency", "lines"]);
    expect(doc.components.messages["order.created"]!.examples).to.have.length(catalog.types["order.created"].examples.length);
  });

  it("is committed up to date (run `npm run asyncapi` after changing the catalogue)", () => {
    expect(fs.readFileSync(ASYNCAPI_FILE, "utf8")).to.equal(renderAsyncApi());
  });
});
