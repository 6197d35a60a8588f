/**
 * The complete API through the local stack over HTTP: batch, retrieval, listing, inbox, ack,
 * lossless payloads, gzip and the OpenAPI document, with the same bundles that deploy.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { gzipSync } from "node:zlib";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import { buildOpenApiDocument } from "../../handlers/lib/api/openapi";
import { catalogListing } from "../../handlers/lib/api/catalogDocument";
import { ROUTES } from "../../handlers/routes";
import { catalog } from "../../events/catalog";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

describe("the complete API over the local stack", function () {
  this.timeout(60_000);
  let stack: LocalStack;
  let key: string;
  let logs: HandlerLogs;
  before(async () => {
    logs = captureHandlerLogs();
    stack = await startTestStack(tempDataDir());
    key = fs.readFileSync(stack.keyFile, "utf8").trim();
  });
  after(async () => {
    await stack?.close();
    logs.restore();
  });

  it("stores a batch (200) and reports a mixed batch item by item (207)", async () => {
    const ok = await call(stack, "POST", "/events/batch", { key, body: { events: [{ event_type: "b.one", payload: {} }, { event_type: "b.two", payload: { n: 2 } }] } });
    expect(ok.status, ok.text).to.equal(200);
    expect(ok.json<{ results: { status: number }[] }>().results.map((r) => r.status)).to.deep.equal([201, 201]);
    const mixed = await call(stack, "POST", "/events/batch", { key, body: { events: [{ event_type: "b.three", payload: {} }, { event_type: "b three", payload: {} }] } });
    expect(mixed.status).to.equal(207);
    expect(mixed.json<{ results: { status: number }[] }>().results.map((r) => r.status)).to.deep.equal([201, 400]);
  });

  it("returns a stored event with big and precise numbers exactly as sent", async () => {
    const body = '{"event_type":"lossless","payload":{"big":123456789012345678901234567890,"precise":0.30000000000000000000001,"s":"é"}}';
    const posted = await call(stack, "POST", "/events", { key, body, headers: { "content-type": "application/json" } });
    expect(posted.status, posted.text).to.equal(201);
    const read = await call(stack, "GET", `/events/${posted.json<{ event_id: string }>().event_id}`, { key });
    expect(read.status).to.equal(200);
    expect(read.text).to.include('"big":123456789012345678901234567890').and.include('"precise":0.30000000000000000000001');
    expect(read.json<{ payload: { s: string } }>().payload.s).to.equal("é");
  });

  it("lists newest first and pages with next_cursor; the inbox is oldest first and loses an event once it is acked", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(stack, "POST", "/events", { key, body: { event_type: "paged.event", payload: { i } } });
      ids.push(r.json<{ event_id: string }>().event_id);
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct created_at milliseconds
    }
    const first = await call(stack, "GET", "/events?status=pending&event_type=paged.event&limit=3", { key });
    const page1 = first.json<{ items: { event_id: string }[]; next_cursor: string }>();
    const second = await call(stack, "GET", `/events?status=pending&event_type=paged.event&limit=3&cursor=${encodeURIComponent(page1.next_cursor)}`, { key });
    const page2 = second.json<{ items: { event_id: string }[]; next_cursor: string | null }>();
    expect([...page1.items, ...page2.items].map((i) => i.event_id)).to.deep.equal([...ids].reverse());
    expect(page2.next_cursor).to.equal(null);

    const inbox = async () => (await call(stack, "GET", "/inbox?limit=100", { key })).json<{ items: { event_id: string }[] }>().items.map((i) => i.event_id);
    const before = await inbox();
    expect(before.filter((id) => ids.includes(id))).to.deep.equal(ids);
    const ack = await call(stack, "POST", `/events/${ids[1]}/ack`, { key });
    expect(ack.status).to.equal(200);
    expect(ack.json()).to.include({ status: "delivered", delivery_attempts: 1, changed: true });
    expect((await call(stack, "POST", `/events/${ids[1]}/ack`, { key })).json()).to.include({ changed: false, delivery_attempts: 1 });
    expect(await inbox()).not.to.include(ids[1]);
    const garbage = await call(stack, "GET", "/events?cursor=garbage", { key });
    expect(garbage.status).to.equal(400);
  });

  it("accepts a gzip body and answers 413 to a gzip bomb", async () => {
    const zipped = gzipSync(Buffer.from(JSON.stringify({ event_type: "zipped", payload: { z: 1 } })));
    const ok = await call(stack, "POST", "/events", { key, body: zipped, headers: { "content-type": "application/json", "content-encoding": "gzip" } });
    expect(ok.status, ok.text).to.equal(201);
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20));
    const rejected = await call(stack, "POST", "/events", { key, body: bomb, headers: { "content-type": "application/json", "content-encoding": "gzip" } });
    expect(rejected.status).to.equal(413);
    expect(rejected.json()).to.include({ code: "payload_too_large" });
  });

  it("enforces scopes per route: an ingest-only key cannot read, a read-only key cannot ingest", async () => {
    const doc = localDocumentClient(stack);
    const keys = new ApiKeyStore(doc, stack.apiKeysTable);
    const ingestOnly = (await keys.create("ingest-only", ["ingest"])).apiKey;
    const readOnly = (await keys.create("read-only", ["read"])).apiKey;
    doc.destroy();
    expect((await call(stack, "GET", "/events", { key: ingestOnly })).json()).to.include({ status: 403, code: "insufficient_scope" });
    expect((await call(stack, "POST", "/events/batch", { key: readOnly, body: { events: [] } })).json()).to.include({ code: "insufficient_scope" });
    expect((await call(stack, "GET", "/inbox", { key: readOnly })).status).to.equal(200);
  });

  it("serves GET /openapi.json without a key", async () => {
    const response = await call(stack, "GET", "/openapi.json");
    expect(response.status).to.equal(200);
    expect(response.json()).to.deep.equal(JSON.parse(JSON.stringify(buildOpenApiDocument(ROUTES, catalog))));
  });

  it("serves GET /catalog, the bundled event catalogue with its JSON Schemas, to a key with the read scope", async () => {
    const response = await call(stack, "GET", "/catalog", { key });
    expect(response.status).to.equal(200);
    const { request_id: requestId, ...listing } = response.json() as { request_id: string };
    expect(requestId).to.be.a("string");
    expect(listing).to.deep.equal(JSON.parse(JSON.stringify(catalogListing(catalog))));
    expect((await call(stack, "GET", "/catalog")).status, "no key").to.equal(401);
  });
});
