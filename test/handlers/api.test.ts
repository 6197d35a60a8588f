/**
 * The complete API against dynalite: batch, retrieval, listing, inbox, ack, lossless payloads and
 * gzip bodies. Each handler is the same factory the Lambda entries use.
 */
import { expect } from "chai";
import { gzipSync } from "node:zlib";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { encodeCursor } from "../../handlers/lib/store/cursor";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import type { Response } from "../../handlers/lib/http/http";
import { useDynalite } from "../support/dynalite";
import { httpEvent, postEvent, TIME_EPOCH } from "../support/events";
import { throttlingRequestHandler } from "../support/faults";
import { expectProblem, jsonBody } from "../support/http";

const SHARDS = 4;

describe("the complete API (handlers against dynalite)", () => {
  const suite = useDynalite();

  /** A fresh table and the three handlers over it; the clock advances 1 ms per call. */
  async function api(options: { shards?: number; maxEventBytes?: number } = {}) {
    const table = await suite.freshTable(EVENTS_TABLE, "api");
    let clock = TIME_EPOCH;
    const now = () => ++clock;
    const shards = options.shards ?? SHARDS;
    const ingest = createIngestHandler({
      repository: new EventRepository(suite.dynamo.doc, table),
      config: { eventsTable: table, statusIndexShards: shards, maxEventBytes: options.maxEventBytes ?? 65_536 },
      now,
    });
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: shards });
    const ack = createAckHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: shards, now });
    const post = async (body: unknown, headers: Record<string, string> = {}) => ingest(postEvent(body, { headers }));
    const get = async (routeKey: string, path: string, query: Record<string, string> = {}, pathParameters?: Record<string, string>) => {
      const event = httpEvent({ routeKey, headers: { "content-type": undefined } });
      event.rawPath = path;
      event.queryStringParameters = query;
      if (pathParameters) event.pathParameters = pathParameters;
      return read(event);
    };
    const getEvent = (id: string) => get("GET /events/{event_id}", `/events/${id}`, {}, { event_id: id });
    const ackEvent = (id: string) => {
      const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
      event.pathParameters = { event_id: id };
      return ack(event);
    };
    const batch = (body: unknown) => ingest(httpEvent({ routeKey: "POST /events/batch", body: typeof body === "string" ? body : JSON.stringify(body) }));
    return { table, ingest, read, ack, post, get, getEvent, ackEvent, batch, items: () => suite.dynamo.scanAll(table) };
  }

  const id = (r: Response) => jsonBody<{ event_id: string }>(r).event_id;

  describe("POST /events/batch", () => {
    it("stores every item with one conditional put each and answers 200 with one result per item, in order", async () => {
      const a = await api();
      const events = Array.from({ length: 30 }, (_, i) => ({ event_type: "batch.item", payload: { i } }));
      const response = await a.batch({ events });
      expect(response.statusCode, response.body).to.equal(200);
      const body = jsonBody<{ results: { index: number; status: number; event_id: string }[]; stored: number }>(response);
      expect(body.stored).to.equal(30);
      expect(body.results.map((r) => r.index)).to.deep.equal(events.map((_, i) => i));
      expect(body.results.every((r) => r.status === 201)).to.equal(true);
      const stored = await a.items();
      expect(stored).to.have.length(30);
      for (const r of body.results) expect(stored.find((s) => s.event_id === r.event_id)!.payload).to.deep.equal({ i: r.index });
    });

    it("answers 207 for mixed results: a bad item gets its own 400 with pointers under /events/<index>, the others are stored", async () => {
      const a = await api();
      const response = await a.batch({
        events: [
          { event_type: "ok.one", payload: {} },
          { event_type: "", payload: [] },
          { event_type: "ok.two", payload: {}, status: "delivered" },
          { event_type: "ok.three", payload: { n: 1 } },
        ],
      });
      expect(response.statusCode).to.equal(207);
      const { results } = jsonBody<{ results: { index: number; status: number; error?: { code: string; errors: { pointer: string }[] } }[] }>(response);
      expect(results.map((r) => r.status)).to.deep.equal([201, 400, 400, 201]);
      expect(results[1]!.error!.errors.map((e) => e.pointer)).to.include.members(["/events/1/event_type", "/events/1/payload"]);
      expect(results[2]!.error!.errors.map((e) => e.pointer)).to.deep.equal(["/events/2/status"]);
      expect((await a.items()).map((i) => i.event_type)).to.have.members(["ok.one", "ok.three"]);
    });

    it("deduplicates items by idempotency_key: a repeated batch is 200 with duplicate: true for each item and writes nothing new", async () => {
      const a = await api();
      const body = { events: [{ event_type: "x", payload: { a: 1 }, idempotency_key: "k-1" }, { event_type: "x", payload: { a: 2 }, idempotency_key: "k-2" }] };
      const first = jsonBody<{ results: { event_id: string }[] }>(await a.batch(body));
      const again = await a.batch(body);
      expect(again.statusCode).to.equal(200);
      const results = jsonBody<{ results: { status: number; duplicate: boolean; event_id: string }[]; duplicates: number }>(again);
      expect(results.duplicates).to.equal(2);
      expect(results.results.map((r) => [r.status, r.duplicate, r.event_id])).to.deep.equal(first.results.map((r) => [200, true, r.event_id]));
      expect(await a.items()).to.have.length(2);
    });

    it("shares idempotency with POST /events: an item with the header's key is a duplicate of that event", async () => {
      const a = await api();
      const single = await a.post({ event_type: "x", payload: { a: 1 } }, { "idempotency-key": "shared" });
      const response = await a.batch({ events: [{ event_type: "x", payload: { a: 1 }, idempotency_key: "shared" }] });
      expect(jsonBody<{ results: { event_id: string; duplicate: boolean }[] }>(response).results[0]).to.include({ event_id: id(single), duplicate: true });
    });

    it("reports 422 for an item whose idempotency_key already stored a different event", async () => {
      const a = await api();
      await a.batch({ events: [{ event_type: "x", payload: { a: 1 }, idempotency_key: "k" }] });
      const response = await a.batch({ events: [{ event_type: "x", payload: { a: 2 }, idempotency_key: "k" }] });
      expect(response.statusCode).to.equal(207);
      expect(jsonBody<{ results: { status: number; error: { code: string } }[] }>(response).results[0]).to.deep.include({ status: 422, error: jsonBody<any>(response).results[0].error });
      expect(jsonBody<any>(response).results[0].error.code).to.equal("idempotency_key_reused");
    });

    it("reports 503 per item when storage is throttled, with Retry-After, and drops nothing silently", async () => {
      const table = await suite.freshTable(EVENTS_TABLE, "api");
      const handler = throttlingRequestHandler();
      const throttled = createDocumentClient({ endpoint: suite.dynamo.endpoint, region: "eu-north-1", credentials: { accessKeyId: "t", secretAccessKey: "t" }, requestHandler: handler, retryStrategy: undefined, maxAttempts: 2 });
      const ingest = createIngestHandler({ repository: new EventRepository(throttled, table), config: { eventsTable: table, statusIndexShards: 4, maxEventBytes: 65_536 } });
      const response = await ingest(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [{ event_type: "a", payload: {} }, { event_type: "b", payload: {} }] }) }));
      expect(response.statusCode).to.equal(207);
      expect(response.headers["retry-after"]).to.equal("1");
      const body = jsonBody<{ results: { status: number; error: { code: string } }[]; rejected: number }>(response);
      expect(body.results.map((r) => [r.status, r.error.code])).to.deep.equal([[503, "storage_unavailable"], [503, "storage_unavailable"]]);
      expect(body.rejected).to.equal(2);
      throttled.destroy();
    });

    it("rejects a bad envelope with 400 and writes nothing: not an object, no events, 101 events, unknown field", async () => {
      const a = await api();
      const tooMany = { events: Array.from({ length: 101 }, () => ({ event_type: "x", payload: {} })) };
      for (const body of [[], {}, { events: [] }, tooMany, { events: [{ event_type: "x", payload: {} }], extra: 1 }]) {
        const event = httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify(body) });
        expectProblem(await a.ingest(event), event, 400, "invalid_batch");
      }
      expect(await a.items()).to.have.length(0);
    });

    it("rejects a body over 1 MB with 413 and a single item over maxEventBytes with its own 413", async () => {
      const a = await api({ maxEventBytes: 2048 });
      const big = { events: [{ event_type: "x", payload: { s: "a".repeat(1024 * 1024) } }] };
      const event = httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify(big) });
      expectProblem(await a.ingest(event), event, 413, "payload_too_large");
      const response = await a.batch({ events: [{ event_type: "x", payload: { s: "a".repeat(3000) } }, { event_type: "y", payload: {} }] });
      expect(jsonBody<any>(response).results.map((r: { status: number }) => r.status)).to.deep.equal([413, 201]);
      expect(await a.items()).to.have.length(1);
    });
  });

  describe("GET /events/{event_id}", () => {
    it("returns the stored event with the payload exactly as sent: big and precise numbers, unicode, empty strings, nested arrays", async () => {
      const a = await api();
      const payloadText =
        '{"big":12345678901234567890,"precise":0.1000000000000000055511151231257827,"max":9.9999999999999999999999999999999999999e125,' +
        '"neg":-98765432109876543210.5,"small":1e-130,"text":"Grüße 🚀 \\u0000","empty":"","nested":[[1,[2,[]]],{"a":[{}]}],"t":true,"n":null,"float":1.5}';
      const posted = await a.ingest(postEvent(`{"event_type":"lossless","payload":${payloadText}}`));
      expect(posted.statusCode, posted.body).to.equal(201);
      const response = await a.getEvent(id(posted));
      expect(response.statusCode).to.equal(200);
      const text = response.body!;
      for (const literal of ["12345678901234567890", "0.1000000000000000055511151231257827", "-98765432109876543210.5"]) expect(text).to.include(literal);
      const body = JSON.parse(text);
      expect(body).to.include({ event_id: id(posted), event_type: "lossless", status: "pending" });
      expect(body.payload.text).to.equal("Grüße 🚀 \u0000");
      expect(body.payload).to.deep.include({ empty: "", nested: [[1, [2, []]], { a: [{}] }], t: true, n: null, float: 1.5, small: 1e-130 });
      expect(Number(body.payload.max)).to.equal(9.9999999999999999999999999999999999999e125);
      expect(body).not.to.have.property("status_shard");
      expect(body).not.to.have.property("request_sha256");
    });

    it("returns the stored request_id (the writing request's), not the id of the read request, as GET /events does", async () => {
      const a = await api();
      const posted = await a.ingest(postEvent({ event_type: "provenance", payload: {} }, { requestId: "req-that-wrote-it" }));
      expect(posted.statusCode, posted.body).to.equal(201);
      const read = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined }, requestId: "req-that-reads-it" });
      read.pathParameters = { event_id: id(posted) };
      const single = jsonBody<{ request_id: string }>(await a.read(read));
      expect(single.request_id).to.equal("req-that-wrote-it");
      const listed = jsonBody<{ items: { event_id: string; request_id: string }[] }>(await a.get("GET /events", "/events", { status: "pending", event_type: "provenance" }));
      expect(listed.items.map((i) => i.request_id)).to.deep.equal([single.request_id]);
      const [stored] = await a.items();
      expect(stored!.request_id).to.equal("req-that-wrote-it");
    });

    it("rejects a number with more than 38 significant digits (DynamoDB's limit) with 400 instead of rounding it", async () => {
      const a = await api();
      const event = postEvent('{"event_type":"x","payload":{"n":1234567890123456789012345678901234567890}}');
      const body = expectProblem(await a.ingest(event), event, 400, "number_not_exact");
      expect(body.errors![0]!.pointer).to.equal("/payload/n");
      expect(await a.items()).to.have.length(0);
    });

    it("answers 404 problem+json for an unknown or malformed id", async () => {
      const a = await api();
      for (const eventId of ["evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN", "nope", "evt_" + "Z".repeat(300)]) {
        const response = await a.getEvent(eventId);
        expect(response.statusCode).to.equal(404);
        expect(response.headers["content-type"]).to.equal("application/problem+json");
        expect(jsonBody<{ code: string }>(response).code).to.equal("event_not_found");
      }
    });
  });

  describe("GET /events and GET /inbox", () => {
    async function seed(a: Awaited<ReturnType<typeof api>>, count: number, type = (i: number) => (i % 3 === 0 ? "order.created" : "page.viewed")) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(id(await a.post({ event_type: type(i), payload: { i } })));
      return ids; // in creation order (the clock advances per call)
    }

    it("lists newest first across every shard, paging with an opaque cursor until next_cursor is null", async () => {
      const a = await api();
      const ids = await seed(a, 23);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const response = await a.get("GET /events", "/events", { limit: "5", ...(cursor ? { cursor } : {}) });
        expect(response.statusCode, response.body).to.equal(200);
        const page = jsonBody<{ items: { event_id: string; created_at: string }[]; next_cursor: string | null }>(response);
        expect(page.items.length).to.be.at.most(5);
        seen.push(...page.items.map((i) => i.event_id));
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor && pages < 20);
      expect(seen).to.deep.equal([...ids].reverse());
      expect(pages).to.equal(5);
    });

    it("filters by status and event_type", async () => {
      const a = await api();
      const ids = await seed(a, 9);
      await a.ackEvent(ids[0]!);
      const deliveredOrders = jsonBody<{ items: { event_id: string; event_type: string }[] }>(await a.get("GET /events", "/events", { status: "delivered", event_type: "order.created" }));
      expect(deliveredOrders.items.map((i) => i.event_id)).to.deep.equal([ids[0]]);
      const delivered = jsonBody<{ items: { event_id: string }[] }>(await a.get("GET /events", "/events", { status: "delivered" }));
      expect(delivered.items.map((i) => i.event_id)).to.deep.equal([ids[0]]);
      const pendingOrders = jsonBody<{ items: { event_id: string }[] }>(await a.get("GET /events", "/events", { status: "pending", event_type: "order.created" }));
      expect(pendingOrders.items.map((i) => i.event_id)).to.deep.equal([ids[6], ids[3]]);
    });

    it("serves the inbox oldest first, and an acked event leaves it", async () => {
      const a = await api();
      const ids = await seed(a, 7);
      const inbox = async () => jsonBody<{ items: { event_id: string; status: string }[] }>(await a.get("GET /inbox", "/inbox", { limit: "100" })).items;
      expect((await inbox()).map((i) => i.event_id)).to.deep.equal(ids);
      await a.ackEvent(ids[2]!);
      expect((await inbox()).map((i) => i.event_id)).to.deep.equal(ids.filter((_, i) => i !== 2));
    });

    it("pages the inbox with a cursor and defaults the page size to 25", async () => {
      const a = await api({ shards: 2 });
      const ids = await seed(a, 30);
      const first = jsonBody<{ items: { event_id: string }[]; next_cursor: string }>(await a.get("GET /inbox", "/inbox"));
      expect(first.items.map((i) => i.event_id)).to.deep.equal(ids.slice(0, 25));
      const second = jsonBody<{ items: { event_id: string }[]; next_cursor: string | null }>(await a.get("GET /inbox", "/inbox", { cursor: first.next_cursor }));
      expect(second.items.map((i) => i.event_id)).to.deep.equal(ids.slice(25));
      expect(second.next_cursor).to.equal(null);
    });

    it("answers 400 invalid_cursor, never 500, for garbage, tampered and foreign cursors", async () => {
      const a = await api();
      await seed(a, 6);
      const page = jsonBody<{ next_cursor: string }>(await a.get("GET /events", "/events", { limit: "2" }));
      // Flip the first shard's position (0 start ↔ 1 done, or a position → done) and keep the
      // checksum: a change in every run, whichever shards the random event ids landed in.
      const decoded = Buffer.from(page.next_cursor, "base64url").toString("utf8");
      const dot = decoded.lastIndexOf(".");
      const state = JSON.parse(decoded.slice(0, dot)) as { s: Record<string, unknown> };
      const [firstShard] = Object.keys(state.s);
      state.s[firstShard!] = state.s[firstShard!] === 1 ? 0 : 1;
      const tampered = Buffer.from(`${JSON.stringify(state)}${decoded.slice(dot)}`, "utf8").toString("base64url");
      expect(tampered).not.to.equal(page.next_cursor);
      const forged = encodeCursor({ shards: { "pending#0": { after: { createdAt: "x", eventId: "y" } } } }, "whatever");
      const cases: [string, Record<string, string>][] = [
        ["garbage", { cursor: "%%%not-base64%%%" }],
        ["random base64", { cursor: Buffer.from("hello.world").toString("base64url") }],
        ["tampered", { cursor: tampered }],
        ["forged", { cursor: forged }],
        ["another query's cursor", { cursor: page.next_cursor, status: "pending" }],
        ["huge", { cursor: "A".repeat(10_000) }],
      ];
      for (const [name, query] of cases) {
        const response = await a.get("GET /events", "/events", query);
        expect(response.statusCode, name).to.equal(400);
        expect(jsonBody<{ code: string }>(response).code, name).to.equal("invalid_cursor");
      }
      const inboxCursor = await a.get("GET /inbox", "/inbox", { cursor: page.next_cursor });
      expect(inboxCursor.statusCode).to.equal(400);
    });

    it("validates limit (1..100), status and event_type, and rejects unknown parameters, with 400 naming the parameter", async () => {
      const a = await api();
      const queries: Record<string, string>[] = [{ limit: "0" }, { limit: "101" }, { limit: "abc" }, { limit: "1.5" }, { status: "lost" }, { event_type: "bad type" }, { foo: "1" }];
      for (const query of queries) {
        const response = await a.get("GET /events", "/events", query);
        expect(response.statusCode, JSON.stringify(query)).to.equal(400);
        const body = jsonBody<{ code: string; errors: { parameter: string }[] }>(response);
        expect(body.code).to.equal("invalid_query");
        expect(body.errors[0]!.parameter).to.equal(Object.keys(query)[0]);
      }
      expect((await a.get("GET /events", "/events", { limit: "100" })).statusCode).to.equal(200);
    });

    /** A GET as API Gateway delivers it: the raw query string, and repeated values joined with commas. */
    const rawGet = (a: Awaited<ReturnType<typeof api>>, routeKey: string, rawQueryString: string) => {
      const event = httpEvent({ routeKey, headers: { "content-type": undefined } });
      event.rawQueryString = rawQueryString;
      const query: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(rawQueryString)) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      event.queryStringParameters = query;
      return a.read(event);
    };

    it("answers a parameter the route does not take, even one named like an event field (GET /inbox?status=), as unknown_parameter, like ?foo=1", async () => {
      const a = await api();
      for (const [routeKey, name] of [["GET /inbox", "status"], ["GET /inbox", "event_type"], ["GET /inbox", "foo"], ["GET /events", "foo"], ["GET /events", "request_id"]] as const) {
        const response = await rawGet(a, routeKey, `${name}=delivered`);
        expect(response.statusCode, `${routeKey} ${name}`).to.equal(400);
        const body = jsonBody<{ code: string; errors: { parameter: string; code: string; detail: string }[] }>(response);
        expect(body.code).to.equal("invalid_query");
        expect(body.errors, `${routeKey} ${name}`).to.deep.equal([{ parameter: name, code: "unknown_parameter", detail: `unknown parameter "${name}"` }]);
      }
    });

    it("answers a repeated parameter with one repeated_parameter error, not the value's error twice", async () => {
      const a = await api();
      for (const [routeKey, raw, name, times] of [
        ["GET /inbox", "limit=5&limit=6", "limit", 2],
        ["GET /events", "status=pending&status=pending&status=delivered", "status", 3],
      ] as const) {
        const body = jsonBody<{ code: string; errors: { parameter: string; code: string; detail: string }[] }>(await rawGet(a, routeKey, raw));
        expect(body.code).to.equal("invalid_query");
        expect(body.errors).to.deep.equal([{ parameter: name, code: "repeated_parameter", detail: `"${name}" was given ${times} times; give it once` }]);
      }
    });

    it("reports a bad value once, although it fails both the pattern and the range of limit", async () => {
      const a = await api();
      const body = jsonBody<{ errors: { parameter: string }[] }>(await rawGet(a, "GET /inbox", "limit=abc"));
      expect(body.errors.map((e) => e.parameter)).to.deep.equal(["limit"]);
    });
  });

  describe("POST /events/{event_id}/ack", () => {
    it("sets delivered, delivered_at and delivery_attempts + 1, and moves the event to the delivered shard", async () => {
      const a = await api();
      const eventId = id(await a.post({ event_type: "x", payload: {} }));
      const response = await a.ackEvent(eventId);
      expect(response.statusCode).to.equal(200);
      const body = jsonBody<{ status: string; delivered_at: string; delivery_attempts: number; changed: boolean }>(response);
      expect(body).to.include({ status: "delivered", delivery_attempts: 1, changed: true });
      const [item] = await a.items();
      expect(item).to.include({ status: "delivered", delivery_attempts: 1, delivered_at: body.delivered_at });
      expect(item!.status_shard).to.match(/^delivered#\d$/);
    });

    it("is idempotent: a second ack answers 200, changed: false, and changes nothing", async () => {
      const a = await api();
      const eventId = id(await a.post({ event_type: "x", payload: {} }));
      const first = jsonBody<{ delivered_at: string }>(await a.ackEvent(eventId));
      const [before] = await a.items();
      const second = await a.ackEvent(eventId);
      expect(second.statusCode).to.equal(200);
      expect(jsonBody<{ changed: boolean; delivered_at: string; delivery_attempts: number }>(second)).to.include({ changed: false, delivered_at: first.delivered_at, delivery_attempts: 1 });
      expect((await a.items())[0]).to.deep.equal(before);
    });

    it("counts one delivery when 20 acks race", async () => {
      const a = await api();
      const eventId = id(await a.post({ event_type: "x", payload: {} }));
      const responses = await Promise.all(Array.from({ length: 20 }, () => a.ackEvent(eventId)));
      expect(responses.every((r) => r.statusCode === 200)).to.equal(true);
      expect(responses.filter((r) => jsonBody<{ changed: boolean }>(r).changed)).to.have.length(1);
      expect((await a.items())[0]).to.include({ delivery_attempts: 1, status: "delivered" });
    });

    it("answers 404 for an unknown or malformed id and creates nothing", async () => {
      const a = await api();
      for (const eventId of ["evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN", "../etc"]) {
        const response = await a.ackEvent(eventId);
        expect(response.statusCode).to.equal(404);
        expect(jsonBody<{ code: string }>(response).code).to.equal("event_not_found");
      }
      expect(await a.items()).to.have.length(0);
    });
  });

  describe("gzip request bodies", () => {
    const gz = (value: unknown) => gzipSync(Buffer.from(JSON.stringify(value))).toString("base64");

    it("stores a gzip body (Content-Encoding: gzip, base64 as API Gateway delivers binary)", async () => {
      const a = await api();
      const response = await a.ingest(postEvent(gz({ event_type: "zipped", payload: { ok: true } }), { headers: { "content-encoding": "gzip" }, isBase64Encoded: true }));
      expect(response.statusCode, response.body).to.equal(201);
      expect((await a.items())[0]!.payload).to.deep.equal({ ok: true });
    });

    it("answers 413 for a gzip bomb (64 KB limit, 50 MB inflated) and stops inflating at the limit", async () => {
      const a = await api();
      const bomb = gzipSync(Buffer.from(`{"event_type":"x","payload":{"s":"${"a".repeat(50 * 1024 * 1024)}"}}`)).toString("base64");
      const event = postEvent(bomb, { headers: { "content-encoding": "gzip" }, isBase64Encoded: true });
      const started = process.memoryUsage().rss;
      expectProblem(await a.ingest(event), event, 413, "payload_too_large");
      expect(process.memoryUsage().rss - started).to.be.below(40 * 1024 * 1024);
      expect(await a.items()).to.have.length(0);
    });

    it("applies the limit to decompressed bytes: a 70 KB body compressed to 1 KB is 413", async () => {
      const a = await api();
      const event = postEvent(gz({ event_type: "x", payload: { s: "b".repeat(70 * 1024) } }), { headers: { "content-encoding": "gzip" }, isBase64Encoded: true });
      expectProblem(await a.ingest(event), event, 413, "payload_too_large");
    });

    it("answers 400 for a corrupt gzip body and 415 for another Content-Encoding", async () => {
      const a = await api();
      const corrupt = postEvent(Buffer.from("not gzip at all").toString("base64"), { headers: { "content-encoding": "gzip" }, isBase64Encoded: true });
      expectProblem(await a.ingest(corrupt), corrupt, 400, "invalid_encoding");
      const brotli = postEvent("{}", { headers: { "content-encoding": "br" } });
      expectProblem(await a.ingest(brotli), brotli, 415, "unsupported_content_encoding");
      expect(await a.items()).to.have.length(0);
    });
  });
});
