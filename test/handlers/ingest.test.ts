/**
 * POST /events against a real DynamoDB API (dynalite): every response is checked against the HTTP
 * contract in DESIGN.md, and every rejection is checked to have written nothing.
 */
import { expect } from "chai";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { IngestConfig } from "../../handlers/lib/ops/config";
import { EVENT_ID_PATTERN, shardOf } from "../../handlers/lib/primitives/ids";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { LIMITS, RETRY_AFTER_SECONDS } from "../../handlers/lib/primitives/limits";
import { dynamoItemSize } from "../../handlers/lib/events/record";
import type { HttpEvent } from "../../handlers/lib/http/request";
import { createDocumentClient, EventRepository, type PutOutcome } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { DEFAULT_CALLER, httpEvent, postEvent, TIME_EPOCH } from "../support/events";
import { closedEndpoint, throttlingRequestHandler } from "../support/faults";
import { expectProblem, jsonBody, pointers } from "../support/http";

/** The injected clock: 1.234 s after API Gateway's request time, so the two are distinguishable. */
const NOW = TIME_EPOCH + 1_234;
const BASE_CONFIG = { statusIndexShards: 8, maxEventBytes: 65_536 } as const;

interface Acceptance {
  event_id: string;
  status: string;
  created_at: string;
  delivered_at: string | null;
  request_id: string;
  duplicate?: boolean;
}

describe("POST /events (ingest handler against dynalite)", () => {
  const suite = useDynalite();

  /** A fresh events table and a handler over it. */
  async function ingest(config: Partial<Omit<IngestConfig, "eventsTable">> = {}, now: () => number = () => NOW) {
    const table = await suite.freshTable(EVENTS_TABLE, "events");
    const handler = createIngestHandler({
      repository: new EventRepository(suite.dynamo.doc, table),
      config: { eventsTable: table, ...BASE_CONFIG, ...config },
      now,
    });
    return { table, handler, items: () => suite.dynamo.scanAll(table) };
  }

  const validBody = { event_type: "order.created", payload: { order_id: "ord_1", total: 42 } };
  const bodyWith = (payloadJson: string) => `{"event_type":"t","payload":${payloadJson}}`;

  describe("accepting an event", () => {
    it("returns 201 with {event_id, status: pending, created_at, delivered_at: null, request_id} and a Location header", async () => {
      const { handler } = await ingest();
      const event = postEvent(validBody);
      const response = await handler(event);

      expect(response.statusCode, response.body).to.equal(201);
      expect(response.headers["content-type"]).to.equal("application/json");
      const body = jsonBody<Acceptance>(response);
      expect(body).to.have.all.keys("event_id", "status", "created_at", "delivered_at", "request_id");
      expect(body.event_id).to.match(EVENT_ID_PATTERN);
      expect(body).to.include({
        status: "pending",
        created_at: new Date(NOW).toISOString(),
        delivered_at: null,
        request_id: event.requestContext.requestId,
      });
      expect(response.headers.location).to.equal(`/events/${body.event_id}`);
      expect(response.headers["x-request-id"]).to.equal(event.requestContext.requestId);
    });

    it("stores exactly what was sent plus the server-owned enrichment, with no ttl when retention is off", async () => {
      const { handler, items } = await ingest({ statusIndexShards: 3 });
      const sent = {
        event_type: "order.created",
        payload: {
          order_id: "ord_123",
          total: 1999.99,
          quantity: -3,
          tiny: 1.5e-7,
          max_safe: 9_007_199_254_740_991,
          paid: true,
          coupon: null,
          note: "",
          tags: ["a", "ü", "🚀", "€"],
          nested: { "a/b": { "~x": [1, [2, [3, { deep: "yes" }]]] } },
          empty_map: {},
          empty_list: [],
          ключ: "значение",
        },
        metadata: { source: "checkout", retries: 2, test: false },
        occurred_at: "2025-12-31T23:59:59.999+01:00",
      };
      const event = postEvent(sent);
      const response = await handler(event);
      expect(response.statusCode, response.body).to.equal(201);
      const { event_id } = jsonBody<Acceptance>(response);

      const stored = await items();
      expect(stored).to.have.length(1);
      const item = stored[0]!;
      expect(item.status_shard).to.match(/^pending#[0-2]$/);
      expect(item).to.deep.equal({
        ...sent,
        event_id,
        created_at: "2026-01-01T00:00:01.234Z",
        received_at: "2026-01-01T00:00:00.000Z",
        request_id: event.requestContext.requestId,
        source: { api_key_id: DEFAULT_CALLER.key_id },
        status: "pending",
        delivery_attempts: 0,
        delivered_at: null,
        schema_version: 1,
        status_shard: `pending#${shardOf(event_id, 3)}`,
      });
      expect(item).not.to.have.property("ttl");
    });

    it("sets ttl to floor(now / 1000) + retentionDays × 86400 when retention is on", async () => {
      const now = TIME_EPOCH + 999; // floor drops the 999 ms
      const { handler, items } = await ingest({ retentionDays: 30 }, () => now);
      const response = await handler(postEvent(validBody));
      expect(response.statusCode, response.body).to.equal(201);
      const [item] = await items();
      expect(item!.ttl).to.equal(TIME_EPOCH / 1000 + 30 * 86_400);
    });

    it("gives requests without an Idempotency-Key distinct ids that sort by creation time", async () => {
      let clock = NOW;
      const { handler, items } = await ingest({}, () => clock);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock = NOW + i;
        const response = await handler(postEvent(validBody));
        expect(response.statusCode, response.body).to.equal(201);
        ids.push(jsonBody<Acceptance>(response).event_id);
      }
      expect(new Set(ids).size).to.equal(3);
      expect([...ids].sort()).to.deep.equal(ids);
      expect(await items()).to.have.length(3);
    });

    it("stores numbers with every digit as sent (beyond 2^53, beyond a double's precision, 38 digits) and recognises their repeat", async () => {
      const { table, handler } = await ingest();
      const literals = {
        a: "1e20",
        b: "9007199254740992",
        c: "-1e100",
        d: "12345678901234567890",
        e: "0.1000000000000000055511151231257827",
        f: "12345678901234567890123456789012345678",
      };
      const body = bodyWith(`{${Object.entries(literals).map(([k, v]) => `"${k}":${v}`).join(",")}}`);
      const headers = { "idempotency-key": "big-numbers" };
      const response = await handler(postEvent(body, { headers }));
      expect(response.statusCode, response.body).to.equal(201);
      const repeat = await handler(postEvent(body, { headers }));
      expect(repeat.statusCode, repeat.body).to.equal(200);
      const { event_id } = jsonBody<Acceptance>(response);
      // The raw attribute values, as DynamoDB holds them.
      const { Item } = await suite.dynamo.client.send(new GetItemCommand({ TableName: table, Key: { event_id: { S: event_id } } }));
      expect(Item!.payload!.M).to.deep.equal({
        a: { N: "100000000000000000000" },
        b: { N: "9007199254740992" },
        c: { N: "-1" + "0".repeat(100) },
        d: { N: literals.d },
        e: { N: literals.e },
        f: { N: literals.f },
      });
    });

    for (const contentType of ["application/json; charset=utf-8", "Application/JSON", "application/cloudevents+json"]) {
      it(`accepts Content-Type ${contentType}`, async () => {
        const { handler, items } = await ingest();
        const response = await handler(postEvent(validBody, { headers: { "content-type": contentType } }));
        expect(response.statusCode, response.body).to.equal(201);
        expect(await items()).to.have.length(1);
      });
    }

    it("decodes a base64 body (isBase64Encoded: true) and stores the decoded payload", async () => {
      const { handler, items } = await ingest();
      const sent = { event_type: "t", payload: { text: "grüße €" } };
      const event = postEvent(Buffer.from(JSON.stringify(sent), "utf8").toString("base64"), { isBase64Encoded: true });
      const response = await handler(event);
      expect(response.statusCode, response.body).to.equal(201);
      const [item] = await items();
      expect(item!.payload).to.deep.equal(sent.payload);
    });

    it("accepts a body of exactly maxEventBytes UTF-8 bytes", async () => {
      const maxEventBytes = 1_000;
      const { handler, items } = await ingest({ maxEventBytes });
      const fill = maxEventBytes - Buffer.byteLength(bodyWith('{"s":""}'));
      const body = bodyWith(`{"s":"${"€".repeat(Math.floor(fill / 3))}${"x".repeat(fill % 3)}"}`);
      expect(Buffer.byteLength(body)).to.equal(maxEventBytes);
      const response = await handler(postEvent(body));
      expect(response.statusCode, response.body).to.equal(201);
      expect(await items()).to.have.length(1);
    });

    it("stores a payload nested 32 maps deep (the payload object itself is level 1)", async () => {
      const { handler, items } = await ingest();
      const payload = nestedMaps(LIMITS.maxPayloadDepth);
      const response = await handler(postEvent({ event_type: "t", payload }));
      expect(response.statusCode, response.body).to.equal(201);
      const [item] = await items();
      expect(item!.payload).to.deep.equal(payload);
    });
  });

  describe("idempotency", () => {
    it("answers a repeat with the same Idempotency-Key and body with 200 duplicate: true and the same event_id, storing one item", async () => {
      const { handler, items } = await ingest();
      const headers = { "idempotency-key": "order-1-created" };
      const first = await handler(postEvent(validBody, { headers }));
      const repeat = postEvent(validBody, { headers });
      const second = await handler(repeat);

      expect(first.statusCode, first.body).to.equal(201);
      expect(second.statusCode, second.body).to.equal(200);
      const original = jsonBody<Acceptance>(first);
      expect(jsonBody<Acceptance>(second)).to.deep.equal({
        event_id: original.event_id,
        status: "pending",
        created_at: original.created_at,
        delivered_at: null,
        request_id: repeat.requestContext.requestId,
        duplicate: true,
      });
      expect(second.headers.location).to.equal(`/events/${original.event_id}`);
      const stored = await items();
      expect(stored).to.have.length(1);
      expect(stored[0]).to.include({ event_id: original.event_id, idempotency_key: "order-1-created" });
      expect(suite.logs.withMessage("request")[1]).to.include({ status: 200, duplicate: true });
    });

    it("treats the same body with object keys in a different order as a repeat", async () => {
      const { handler, items } = await ingest();
      const headers = { "idempotency-key": "k-1" };
      const first = await handler(postEvent('{"event_type":"t","payload":{"a":1,"b":{"c":2,"d":3}},"metadata":{"x":"1","y":2}}', { headers }));
      const second = await handler(postEvent('{"metadata":{"y":2,"x":"1"},"payload":{"b":{"d":3,"c":2},"a":1},"event_type":"t"}', { headers }));
      expect(first.statusCode, first.body).to.equal(201);
      expect(second.statusCode, second.body).to.equal(200);
      expect(jsonBody<Acceptance>(second)).to.include({ event_id: jsonBody<Acceptance>(first).event_id, duplicate: true });
      expect(await items()).to.have.length(1);
    });

    it("returns 422 idempotency_key_reused for the same Idempotency-Key with a different body and leaves the item unchanged", async () => {
      const { handler, items } = await ingest();
      const headers = { "idempotency-key": "k-2" };
      expect((await handler(postEvent(validBody, { headers }))).statusCode).to.equal(201);
      const before = await items();

      const reuse = postEvent({ ...validBody, payload: { order_id: "ord_1", total: 43 } }, { headers });
      const problem = expectProblem(await handler(reuse), reuse, 422, "idempotency_key_reused");
      expect(problem.errors).to.deep.equal([{ header: "Idempotency-Key", detail: "already used for a different request body" }]);
      expect(await items()).to.deep.equal(before);
    });

    it("scopes an Idempotency-Key to the API key: two key ids with the same Idempotency-Key create two events", async () => {
      const { handler, items } = await ingest();
      const headers = { "idempotency-key": "shared" };
      const a = await handler(postEvent(validBody, { headers, caller: { key_id: "aaaaaaaaaaaaaaaa", scopes: "ingest" } }));
      const b = await handler(postEvent(validBody, { headers, caller: { key_id: "bbbbbbbbbbbbbbbb", scopes: "ingest" } }));
      expect([a.statusCode, b.statusCode]).to.deep.equal([201, 201]);
      expect(jsonBody<Acceptance>(a).event_id).not.to.equal(jsonBody<Acceptance>(b).event_id);
      const owners = (await items()).map((i) => (i.source as { api_key_id: string }).api_key_id).sort();
      expect(owners).to.deep.equal(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]);
    });

    it("stores one event when five concurrent requests share an Idempotency-Key", async () => {
      const { handler, items } = await ingest();
      const headers = { "idempotency-key": "race" };
      const responses = await Promise.all(Array.from({ length: 5 }, () => handler(postEvent(validBody, { headers }))));
      expect(responses.map((r) => r.statusCode).sort()).to.deep.equal([200, 200, 200, 200, 201]);
      expect(new Set(responses.map((r) => jsonBody<Acceptance>(r).event_id)).size).to.equal(1);
      expect(await items()).to.have.length(1);
    });

    it("accepts a 255-character Idempotency-Key", async () => {
      const { handler, items } = await ingest();
      const response = await handler(postEvent(validBody, { headers: { "idempotency-key": "k".repeat(255) } }));
      expect(response.statusCode, response.body).to.equal(201);
      expect(await items()).to.have.length(1);
    });

    const invalidKeys: [string, string][] = [
      ["empty", ""],
      ["256 characters long", "k".repeat(256)],
      ["non-ASCII", "clé-ü"],
      ["a control character", "a\tb"],
    ];
    for (const [what, key] of invalidKeys) {
      it(`returns 400 invalid_idempotency_key for an Idempotency-Key that is ${what} and writes nothing`, async () => {
        const { handler, items } = await ingest();
        const event = postEvent(validBody, { headers: { "idempotency-key": key } });
        const problem = expectProblem(await handler(event), event, 400, "invalid_idempotency_key");
        expect(problem.errors).to.have.length.greaterThan(0);
        expect(problem.errors!.every((e) => e.header === "Idempotency-Key")).to.equal(true);
        expect(await items()).to.deep.equal([]);
      });
    }
  });

  describe("media type and size", () => {
    it("returns 415 for Content-Type text/plain and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(validBody, { headers: { "content-type": "text/plain" } });
      expectProblem(await handler(event), event, 415, "unsupported_media_type");
      expect(await items()).to.deep.equal([]);
    });

    it("returns 415 when Content-Type is missing and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(validBody, { headers: { "content-type": undefined } });
      expect(event.headers).not.to.have.property("content-type");
      expectProblem(await handler(event), event, 415, "unsupported_media_type");
      expect(await items()).to.deep.equal([]);
    });

    it("returns 413 for a 90 KB payload of € (30,000 characters) and writes nothing", async () => {
      const { handler, items } = await ingest({ maxEventBytes: 65_536 });
      const body = JSON.stringify({ event_type: "t", payload: { text: "€".repeat(30_000) } });
      expect(body.length).to.be.lessThan(65_536); // only UTF-8 byte counting catches it
      expect(Buffer.byteLength(body)).to.be.greaterThan(90_000);
      const event = postEvent(body);
      const problem = expectProblem(await handler(event), event, 413, "payload_too_large");
      expect(problem.detail).to.include("65536");
      expect(await items()).to.deep.equal([]);
    });

    it("returns 413 for a base64 body whose decoded bytes exceed maxEventBytes", async () => {
      const { handler, items } = await ingest({ maxEventBytes: 1_000 });
      const body = JSON.stringify({ event_type: "t", payload: { text: "x".repeat(1_000) } });
      const event = postEvent(Buffer.from(body).toString("base64"), { isBase64Encoded: true });
      expectProblem(await handler(event), event, 413, "payload_too_large");
      expect(await items()).to.deep.equal([]);
    });

    it("returns 413 item_too_large, before the write, when the stored item would exceed DynamoDB's 400 KB", async () => {
      const { handler, items } = await ingest({ maxEventBytes: 1_000_000 });
      const event = postEvent({ event_type: "t", payload: { blob: "x".repeat(LIMITS.maxItemBytes) } });
      const problem = expectProblem(await handler(event), event, 413, "item_too_large");
      expect(problem.detail).to.include(String(LIMITS.maxItemBytes));
      expect(await items()).to.deep.equal([]);
    });

    it("without a claim check, stores an event whose uncompressed item is exactly 400 KB (compressed) and answers 413 for one byte more", async () => {
      const { handler, items } = await ingest({ maxEventBytes: 1_000_000 });
      const send = (blob: string, key: string) =>
        handler(postEvent({ event_type: "t", payload: { blob } }, { headers: { "idempotency-key": key }, requestId: "req-fixed" }));
      // Learn the item's fixed overhead from a small event with the same shape (same-length key).
      expect((await send("", "k1")).statusCode).to.equal(201);
      const overhead = dynamoItemSize((await items())[0]!);
      const fits = "x".repeat(LIMITS.maxItemBytes - overhead);

      const atLimit = await send(fits, "k2");
      expect(atLimit.statusCode, atLimit.body).to.equal(201);
      const stored = (await items()).find((i) => i.idempotency_key === "k2")!;
      // Stored compressed (ADR 0035): the item is a fraction of the 400 KB it would have been.
      expect(stored).to.include({ storage_format: 2, payload_bytes: LIMITS.maxItemBytes - overhead + '{"blob":""}'.length });
      expect(dynamoItemSize(stored)).to.be.below(4 * 1024);

      const over = postEvent({ event_type: "t", payload: { blob: fits + "x" } }, { headers: { "idempotency-key": "k3" }, requestId: "req-fixed" });
      expectProblem(await handler(over), over, 413, "item_too_large");
      expect(await items()).to.have.length(2);
    });

    it("answers 413 for a batch item whose numbers grow when written again (1e21 → 1e+21) past maxEventBytes, although the whole body is under it", async () => {
      const { handler, items } = await ingest({ maxEventBytes: 5_000 });
      const numbers = Array.from({ length: 950 }, () => "1e21").join(",");
      const body = `{"events":[{"event_type":"t","payload":{"n":[${numbers}]}},{"event_type":"t","payload":{}}]}`;
      expect(Buffer.byteLength(body)).to.be.below(5_000);
      const response = await handler(httpEvent({ routeKey: "POST /events/batch", body }));
      const result = jsonBody<{ results: { status: number; error?: { code: string } }[] }>(response);
      expect(result.results.map((r) => [r.status, r.error?.code])).to.deep.equal([[413, "payload_too_large"], [201, undefined]]);
      expect(await items()).to.have.length(1);
    });

    it("returns 413, not 500, for a number-dense payload that DynamoDB counts as more than 400 KB", async () => {
      // 100,000 × -1.2: two significant digits and a sign cost DynamoDB 4 bytes each, plus 1 per list element.
      const { handler, items } = await ingest({ maxEventBytes: 1_000_000 });
      const event = postEvent(bodyWith(`{"n":[${Array.from({ length: 100_000 }, () => "-1.2").join(",")}]}`));
      const response = await handler(event);
      expectProblem(response, event, 413, "item_too_large");
      expect(await items()).to.deep.equal([]);
    });
  });

  describe("schema validation", () => {
    const cases: { name: string; body: unknown; pointer: string; code?: string }[] = [
      { name: "a missing event_type", body: { payload: {} }, pointer: "/event_type" },
      { name: "an event_type that starts with '-'", body: { event_type: "-created", payload: {} }, pointer: "/event_type" },
      { name: "an event_type with a space", body: { event_type: "order created", payload: {} }, pointer: "/event_type" },
      { name: "a 101-character event_type", body: { event_type: "e".repeat(101), payload: {} }, pointer: "/event_type" },
      { name: "a missing payload", body: { event_type: "t" }, pointer: "/payload" },
      { name: "a payload that is an array", body: { event_type: "t", payload: [1, 2] }, pointer: "/payload" },
      { name: "a payload that is a string", body: { event_type: "t", payload: "{}" }, pointer: "/payload" },
      { name: "a metadata value that is an object", body: { event_type: "t", payload: {}, metadata: { tenant: { id: 1 } } }, pointer: "/metadata/tenant" },
      { name: "a metadata value that is null", body: { event_type: "t", payload: {}, metadata: { tenant: null } }, pointer: "/metadata/tenant" },
      { name: "occurred_at without an offset", body: { event_type: "t", payload: {}, occurred_at: "2026-01-01T00:00:00" }, pointer: "/occurred_at" },
      { name: "occurred_at that is not a date", body: { event_type: "t", payload: {}, occurred_at: "yesterday" }, pointer: "/occurred_at" },
      { name: "an unknown top-level field", body: { event_type: "t", payload: {}, colour: "red" }, pointer: "/colour", code: "unknown_field" },
      { name: "a body that is an array", body: [{ event_type: "t", payload: {} }], pointer: "" },
    ];
    for (const c of cases) {
      it(`returns 400 validation_failed at "${c.pointer}" for ${c.name} and writes nothing`, async () => {
        const { handler, items } = await ingest();
        const event = postEvent(c.body);
        const problem = expectProblem(await handler(event), event, 400, "validation_failed");
        expect(pointers(problem)).to.deep.equal([c.pointer]);
        if (c.code) expect(problem.errors![0]!.code).to.equal(c.code);
        expect(await items()).to.deep.equal([]);
      });
    }

    for (const field of ["event_id", "status", "created_at", "source"]) {
      it(`returns 400 server_owned_field at "/${field}" when the client sends ${field} and writes nothing`, async () => {
        const { handler, items } = await ingest();
        const event = postEvent({ ...validBody, [field]: field === "source" ? { api_key_id: "forged" } : "forged" });
        const problem = expectProblem(await handler(event), event, 400, "validation_failed");
        expect(problem.errors).to.have.length(1);
        expect(problem.errors![0]).to.include({ pointer: `/${field}`, code: "server_owned_field" });
        expect(await items()).to.deep.equal([]);
      });
    }

    it("reports every schema error at once, each at its own pointer", async () => {
      const { handler } = await ingest();
      const event = postEvent({ event_type: "", payload: [], occurred_at: "now", status: "delivered" });
      const problem = expectProblem(await handler(event), event, 400, "validation_failed");
      expect([...new Set(pointers(problem))]).to.have.members(["/event_type", "/payload", "/occurred_at", "/status"]);
    });
  });

  describe("strict JSON reading", () => {
    it("returns 400 invalid_json for a body that is not JSON and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent('{"event_type":"t","payload":{"a":tru}}');
      const problem = expectProblem(await handler(event), event, 400, "invalid_json");
      expect(pointers(problem)).to.deep.equal(["/payload/a"]);
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 invalid_json for an empty body", async () => {
      const { handler, items } = await ingest();
      const event = postEvent("");
      expectProblem(await handler(event), event, 400, "invalid_json");
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 nesting_too_deep for a payload nested 33 maps deep and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent({ event_type: "t", payload: nestedMaps(LIMITS.maxPayloadDepth + 1) });
      const problem = expectProblem(await handler(event), event, 400, "nesting_too_deep");
      expect(pointers(problem)).to.deep.equal(["/payload" + "/a".repeat(LIMITS.maxPayloadDepth)]);
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 (not a RangeError) for an array nested 10,000 deep", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(bodyWith(`{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`));
      const problem = expectProblem(await handler(event), event, 400, "nesting_too_deep");
      expect(problem.errors![0]!.pointer).to.match(/^\/payload\/a(\/0)+$/);
      expect(await items()).to.deep.equal([]);
    });

    const numbers: [string, string][] = [
      ["123456789012345678901234567890123456789 (39 digits)", "number_not_exact"],
      ["1e400", "number_out_of_range"],
      ["1e126", "number_out_of_range"],
      ["1e-131", "number_out_of_range"],
      ["-0", "number_not_exact"],
    ];
    for (const [literal, code] of numbers) {
      it(`returns 400 ${code} at the number's pointer for ${literal} and writes nothing`, async () => {
        const { handler, items } = await ingest();
        const event = postEvent(bodyWith(`{"list":[1,{"n":${literal.split(" ")[0]}}]}`));
        const problem = expectProblem(await handler(event), event, 400, code);
        expect(pointers(problem)).to.deep.equal(["/payload/list/1/n"]);
        expect(await items()).to.deep.equal([]);
      });
    }

    const prototypeKeys: [string, string, string][] = [
      ["__proto__ at the top level", '{"event_type":"t","payload":{},"__proto__":{"polluted":true}}', "/__proto__"],
      ["__proto__ in the payload", bodyWith('{"x":{"__proto__":{"polluted":true}}}'), "/payload/x/__proto__"],
      ["constructor in the payload", bodyWith('{"constructor":{"prototype":{"polluted":true}}}'), "/payload/constructor"],
      ["prototype in the payload", bodyWith('{"a":[{"prototype":{"polluted":true}}]}'), "/payload/a/0/prototype"],
      ["constructor in metadata", '{"event_type":"t","payload":{},"metadata":{"constructor":"x"}}', "/metadata/constructor"],
    ];
    for (const [what, body, pointer] of prototypeKeys) {
      it(`returns 400 forbidden_key for ${what}, writes nothing and pollutes no prototype`, async () => {
        const { handler, items } = await ingest();
        const event = postEvent(body);
        const problem = expectProblem(await handler(event), event, 400, "forbidden_key");
        expect(pointers(problem)).to.deep.equal([pointer]);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect(await items()).to.deep.equal([]);
      });
    }

    it("returns 400 duplicate_key for a key that appears twice and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(bodyWith('{"amount":1,"amount":1000}'));
      const problem = expectProblem(await handler(event), event, 400, "duplicate_key");
      expect(pointers(problem)).to.deep.equal(["/payload/amount"]);
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 duplicate_key for a repeated top-level event_type", async () => {
      const { handler, items } = await ingest();
      const event = postEvent('{"event_type":"a","payload":{},"event_type":"b"}');
      const problem = expectProblem(await handler(event), event, 400, "duplicate_key");
      expect(pointers(problem)).to.deep.equal(["/event_type"]);
      expect(await items()).to.deep.equal([]);
    });

    it('returns 400 invalid_unicode for an escaped lone surrogate "\\ud800" and writes nothing', async () => {
      const { handler, items } = await ingest();
      const event = postEvent(bodyWith('{"s":"ok \\ud800"}'));
      const problem = expectProblem(await handler(event), event, 400, "invalid_unicode");
      expect(pointers(problem)).to.deep.equal(["/payload/s"]);
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 invalid_unicode at the containing object for a raw lone surrogate in a key", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(bodyWith('{"ok":1,"k\udc00":1}'));
      const problem = expectProblem(await handler(event), event, 400, "invalid_unicode");
      expect(pointers(problem)).to.deep.equal(["/payload"]);
      expect(await items()).to.deep.equal([]);
    });

    it("returns 400 invalid_encoding for a base64 body that is not valid UTF-8 and writes nothing", async () => {
      const { handler, items } = await ingest();
      const bytes = Buffer.concat([Buffer.from('{"event_type":"t","payload":{"s":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]);
      const event = postEvent(bytes.toString("base64"), { isBase64Encoded: true });
      expectProblem(await handler(event), event, 400, "invalid_encoding");
      expect(await items()).to.deep.equal([]);
    });
  });

  describe("authorization", () => {
    it("returns 403 insufficient_scope for a key with only the read scope and writes nothing", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(validBody, { caller: { key_id: "0123456789abcdef", scopes: "read" } });
      const response = await handler(event);
      expectProblem(response, event, 403, "insufficient_scope");
      expect(response.headers["www-authenticate"]).to.include('scope="ingest"');
      expect(await items()).to.deep.equal([]);
    });

    it("returns 403 insufficient_scope when the request carries no authorizer context", async () => {
      const { handler, items } = await ingest();
      const event = postEvent(validBody, { caller: null });
      expectProblem(await handler(event), event, 403, "insufficient_scope");
      expect(await items()).to.deep.equal([]);
    });
  });

  describe("storage faults", () => {
    it("returns 503 storage_unavailable with Retry-After after three throttled attempts", async () => {
      const requestHandler = throttlingRequestHandler();
      const doc = createDocumentClient({ endpoint: suite.dynamo.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS, requestHandler });
      try {
        const handler = createIngestHandler({
          repository: new EventRepository(doc, "events-throttled"),
          config: { eventsTable: "events-throttled", ...BASE_CONFIG },
          now: () => NOW,
        });
        const event = postEvent(validBody);
        const response = await handler(event);
        const problem = expectProblem(response, event, 503, "storage_unavailable");
        expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
        expect(problem.detail).to.match(/nothing was stored/i);
        expect(requestHandler.attempts).to.equal(3);
        expect(suite.logs.withMessage("request")[0]).to.include({ status: 503, error: "ProvisionedThroughputExceededException" });
      } finally {
        doc.destroy();
      }
    });

    it("returns 503 storage_unavailable with Retry-After when the storage endpoint refuses connections", async () => {
      const doc = createDocumentClient({ endpoint: await closedEndpoint(), region: "eu-north-1", credentials: TEST_CREDENTIALS });
      try {
        const handler = createIngestHandler({
          repository: new EventRepository(doc, "events-unreachable"),
          config: { eventsTable: "events-unreachable", ...BASE_CONFIG },
        });
        const event = postEvent(validBody);
        const response = await handler(event);
        expectProblem(response, event, 503, "storage_unavailable");
        expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
      } finally {
        doc.destroy();
      }
    });

    it("returns 500 internal_error without the error's message or stack for an unexpected failure", async () => {
      const secretMessage = "connection string postgres://admin:hunter2@db";
      class BrokenRepository extends EventRepository {
        override async putNew(): Promise<PutOutcome> {
          throw new Error(secretMessage);
        }
      }
      const handler = createIngestHandler({
        repository: new BrokenRepository(suite.dynamo.doc, "unused"),
        config: { eventsTable: "unused", ...BASE_CONFIG },
      });
      const event = postEvent(validBody);
      const response = await handler(event);
      const problem = expectProblem(response, event, 500, "internal_error");
      expect(Object.keys(problem).sort()).to.deep.equal(["code", "request_id", "status", "title", "type"]);
      expect(response.body).not.to.include("hunter2");
      expect(response.body).not.to.match(/\bat .+:\d+:\d+/);
      const [line] = suite.logs.withMessage("request");
      expect(line).to.include({ level: "ERROR", status: 500, error: "Error" });
      expect(suite.logs.raw.join("\n")).not.to.include("hunter2");
    });
  });

  describe("logging", () => {
    const apiKey = "eik_0123456789abcdef_0123456789abcdefghjkmnpqrstvwxyz";
    const marker = "payload-value-that-must-not-be-logged";

    const requests: [string, () => HttpEvent, number][] = [
      ["a stored event", () => postEvent({ event_type: "t", payload: { secret: marker } }, { headers: { authorization: `Bearer ${apiKey}` } }), 201],
      ["a schema error", () => postEvent({ event_type: "t", payload: [marker] }, { headers: { authorization: `Bearer ${apiKey}` } }), 400],
      ["a strict JSON error", () => postEvent(bodyWith(`{"${marker}":1,"${marker}":2}`), { headers: { authorization: `Bearer ${apiKey}` } }), 400],
      ["a scope failure", () => postEvent({ event_type: "t", payload: { secret: marker } }, { headers: { authorization: `Bearer ${apiKey}` }, caller: { key_id: "x", scopes: "read" } }), 403],
    ];
    for (const [what, makeEvent, status] of requests) {
      it(`writes exactly one request line with request_id, status, route and duration_ms for ${what}, without payload values or the API key`, async () => {
        const { handler } = await ingest();
        const event = makeEvent();
        const response = await handler(event);
        expect(response.statusCode, response.body).to.equal(status);

        const lines = suite.logs.withMessage("request");
        expect(lines).to.have.length(1);
        const line = lines[0]!;
        expect(line).to.include({ request_id: event.requestContext.requestId, status, route: "POST /events" });
        expect(line.duration_ms).to.be.a("number").and.at.least(0);
        const everything = suite.logs.raw.join("\n");
        expect(everything).not.to.include(marker);
        expect(everything).not.to.include(apiKey.slice(-32));
      });
    }

    it("names the rejection reason in the request line", async () => {
      const { handler } = await ingest();
      await handler(postEvent(validBody, { headers: { "content-type": "text/plain" } }));
      expect(suite.logs.withMessage("request")[0]).to.include({ status: 415, rejected: "unsupported_media_type" });
    });
  });
});

/** `levels` nested maps: `{a: {a: … {leaf: true}}}`; the outermost map is level 1. */
function nestedMaps(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}
