/**
 * The event catalogue end to end over the local stack: the deployed bundles (the same esbuild
 * output `pulumi up` ships, with events/catalog.ts bundled in) under `catalogMode: enforce` and
 * `unknownEventTypes: warn`, over HTTP through the API Gateway emulator.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

describe("the event catalogue over the local stack (enforce / warn)", function () {
  this.timeout(60_000);
  let stack: LocalStack;
  let key: string;
  let logs: HandlerLogs;
  before(async () => {
    logs = captureHandlerLogs();
    stack = await startTestStack(tempDataDir(), { settings: { catalog: { mode: "enforce", unknownEventTypes: "warn" } } });
    key = fs.readFileSync(stack.keyFile, "utf8").trim();
  });
  after(async () => {
    await stack?.close();
    logs.restore();
  });

  it("refuses an order.created whose payload breaks the bundled schema: 400 with pointers, nothing stored", async () => {
    const response = await call(stack, "POST", "/events", { key, body: { event_type: "order.created", payload: { order_id: "o-1", totl: 42, currency: "EUR", lines: [] } } });
    expect(response.status).to.equal(400);
    const body = response.json() as { code: string; errors: { pointer: string }[] };
    expect(body.code).to.equal("schema_violation");
    expect(body.errors.map((e) => e.pointer)).to.have.members(["/payload/total", "/payload/lines"]);
    const listing = (await call(stack, "GET", "/events", { key })).json() as { items: unknown[] };
    expect(listing.items).to.have.length(0);
  });

  it("stores a valid order.created with the version it was checked against, and an undeclared type flagged", async () => {
    const valid = await call(stack, "POST", "/events", { key, body: { event_type: "order.created", payload: { order_id: "o-2", total: 42, currency: "EUR", lines: [{ sku: "A", qty: 1 }] } } });
    expect(valid.status).to.equal(201);
    const stored = (await call(stack, "GET", `/events/${(valid.json() as { event_id: string }).event_id}`, { key })).json() as Record<string, unknown>;
    expect(stored.catalog).to.deep.equal({ version: 1, valid: true });
    const unknown = await call(stack, "POST", "/events", { key, body: { event_type: "page.viewed", payload: { path: "/" } } });
    expect(unknown.status).to.equal(201);
    const flagged = (await call(stack, "GET", `/events/${(unknown.json() as { event_id: string }).event_id}`, { key })).json() as Record<string, unknown>;
    expect(flagged.catalog).to.deep.equal({ declared: false });
  });
});
