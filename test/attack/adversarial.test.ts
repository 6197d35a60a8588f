/**
 * Hostile input, one case at a time, against the handlers over dynalite and then over the local
 * stack. Each rejection is checked for its status, its problem+json body and that nothing was
 * written. Cases already covered in test/handlers and test/local are not repeated here; the threat
 * model (docs/THREAT_MODEL.md) names both.
 */
import * as fs from "node:fs";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import type { Response } from "../../handlers/lib/http/http";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import type { HttpEvent } from "../../handlers/lib/http/request";
import { EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { GATEWAY_LIMITS } from "../../local/gateway";
import type { LocalStack } from "../../local/stack";
import { useDynalite } from "../support/dynalite";
import { httpEvent, postEvent } from "../support/events";
import { normalizeJson, parseExactJson } from "../support/exactJson";
import { expectProblem, jsonBody, pointers } from "../support/http";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { abandonedRequest, rawRequest } from "../support/rawHttp";

const EURO_PAYLOAD = JSON.stringify({ event_type: "size.attack", payload: { text: "€".repeat(150_000) } });
const TEN_MB = 10 * 1024 * 1024;

interface BatchBody {
  stored: number;
  results: { index: number; status: number; event_id?: string; error?: { code: string; errors?: { pointer: string }[] } }[];
}

describe("adversarial input (handlers against dynalite)", () => {
  const suite = useDynalite();

  /** A fresh table with the ingest and read handlers over it. */
  async function api(maxEventBytes = 65_536) {
    const table = await suite.freshTable(EVENTS_TABLE, "adversarial");
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config: { eventsTable: table, statusIndexShards: 4, maxEventBytes } });
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: 4 });
    const batchEvent = (body: unknown) => httpEvent({ routeKey: "POST /events/batch", body: typeof body === "string" ? body : JSON.stringify(body) });
    const getEvent = async (eventId: string) => {
      const event = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
      event.pathParameters = { event_id: eventId };
      return read(event);
    };
    return { table, ingest, read, batchEvent, getEvent, items: () => suite.dynamo.scanAll(table) };
  }
  type Api = Awaited<ReturnType<typeof api>>;

  /** Sends `event`, expects the problem `status`/`code` (at `pointer`, if given) and an empty table. */
  async function expectRejected(a: Api, event: HttpEvent, status: number, code: string, pointer?: string) {
    const problem = expectProblem(await a.ingest(event), event, status, code);
    if (pointer !== undefined) expect(pointers(problem)).to.include(pointer);
    expect(await a.items()).to.deep.equal([]);
    return problem;
  }

  const bodyWith = (payloadJson: string) => `{"event_type":"t","payload":${payloadJson}}`;
  const idOf = (response: Response) => jsonBody<{ event_id: string }>(response).event_id;

  describe("size", () => {
    it('answers 413 payload_too_large to 150,000 × "€" (450,000 UTF-8 bytes in 150,000 JS characters) and writes nothing', async () => {
      const a = await api();
      expect(EURO_PAYLOAD.length).to.be.below(160_000);
      expect(Buffer.byteLength(EURO_PAYLOAD)).to.be.above(450_000);
      const problem = await expectRejected(a, postEvent(EURO_PAYLOAD), 413, "payload_too_large");
      expect(problem.detail).to.include(String(Buffer.byteLength(EURO_PAYLOAD)));
    });

    it("answers 413 item_too_large to the same event when maxEventBytes is raised to 1 MB, because DynamoDB's 400 KB counts bytes, and writes nothing", async () => {
      const a = await api(1_000_000);
      const problem = await expectRejected(a, postEvent(EURO_PAYLOAD), 413, "item_too_large");
      expect(problem.detail).to.include(String(LIMITS.maxItemBytes));
    });

    it("needs that byte count: dynalite itself stores the 450,000-byte item, counting characters where DynamoDB counts bytes", async () => {
      const { table } = await api();
      await suite.dynamo.doc.send(new PutCommand({ TableName: table, Item: { event_id: "evt_dynalite_accepts", payload: JSON.parse(EURO_PAYLOAD).payload } }));
      expect(await suite.dynamo.scanAll(table)).to.have.length(1);
    });

    it('reports 413 for a 150,000 × "€" item inside a batch and stores the batch\'s other items', async () => {
      const a = await api();
      const response = await a.ingest(a.batchEvent({ events: [{ event_type: "ok.one", payload: {} }, JSON.parse(EURO_PAYLOAD), { event_type: "ok.two", payload: {} }] }));
      expect(response.statusCode).to.equal(207);
      const body = jsonBody<BatchBody>(response);
      expect(body.results.map((r) => [r.status, r.error?.code])).to.deep.equal([[201, undefined], [413, "payload_too_large"], [201, undefined]]);
      expect((await a.items()).map((i) => i.event_type).sort()).to.deep.equal(["ok.one", "ok.two"]);
    });

    it("answers 413 payload_too_large to a 10 MB body on both routes, as text and as base64, and writes nothing", async () => {
      const a = await api();
      const tenMb = bodyWith(`{"blob":"${"x".repeat(TEN_MB - 40)}"}`);
      const base64 = Buffer.from(tenMb).toString("base64");
      await expectRejected(a, postEvent(tenMb), 413, "payload_too_large");
      await expectRejected(a, postEvent(base64, { isBase64Encoded: true }), 413, "payload_too_large");
      await expectRejected(a, a.batchEvent(`{"events":[${tenMb}]}`), 413, "payload_too_large");
      await expectRejected(a, httpEvent({ routeKey: "POST /events/batch", body: base64, isBase64Encoded: true }), 413, "payload_too_large");
    });
  });

  describe("nesting", () => {
    const nested = (levels: number) => {
      let value: unknown = { leaf: true };
      for (let level = 1; level < levels; level++) value = { a: value };
      return value as Record<string, unknown>;
    };

    it("stores a batch item whose payload nests 32 levels, and rejects the batch with 400 nesting_too_deep at 33, writing nothing", async () => {
      const a = await api();
      const ok = await a.ingest(a.batchEvent({ events: [{ event_type: "deep", payload: nested(LIMITS.maxPayloadDepth) }] }));
      expect(ok.statusCode, ok.body).to.equal(200);
      expect(await a.items()).to.have.length(1);

      const b = await api();
      const event = b.batchEvent({ events: [{ event_type: "ok", payload: {} }, { event_type: "deep", payload: nested(LIMITS.maxPayloadDepth + 1) }] });
      const problem = expectProblem(await b.ingest(event), event, 400, "nesting_too_deep");
      expect(pointers(problem)[0]).to.equal("/events/1/payload" + "/a".repeat(LIMITS.maxPayloadDepth));
      expect(await b.items()).to.deep.equal([]);
    });

    it("answers 400 nesting_too_deep, not a RangeError, to a 10,000-deep array in a batch, a 1,000,000-deep array and 100,000 alternating maps and arrays, and keeps serving", async () => {
      const a = await api(10_000_000);
      const cases = [
        a.batchEvent(`{"events":[{"event_type":"t","payload":{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}}]}`),
        postEvent(bodyWith(`{"a":${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}}`)),
        postEvent(bodyWith(`${'{"a":['.repeat(50_000)}${"]}".repeat(50_000)}`)),
        postEvent(bodyWith(`{"a":${"[".repeat(1_000_000)}`)), // never closed
      ];
      for (const event of cases) await expectRejected(a, event, 400, "nesting_too_deep");
      const after = await a.ingest(postEvent({ event_type: "still.serving", payload: {} }));
      expect(after.statusCode, after.body).to.equal(201);
    });
  });

  describe("numbers", () => {
    const cases: [string, string, string, string][] = [
      ["12345678901234567890 in metadata (metadata values must be exact doubles)", '{"event_type":"t","payload":{},"metadata":{"n":12345678901234567890}}', "validation_failed", "/metadata/n"],
      ["-0 in metadata", '{"event_type":"t","payload":{},"metadata":{"n":-0}}', "number_not_exact", "/metadata/n"],
      ["1e400 in metadata", '{"event_type":"t","payload":{},"metadata":{"n":1e400}}', "number_out_of_range", "/metadata/n"],
      ["-0.0e5 in an array", bodyWith('{"list":[1,2,-0.0e5]}'), "number_not_exact", "/payload/list/2"],
      ["1e-131 as the event_type", '{"event_type":1e-131,"payload":{}}', "number_out_of_range", "/event_type"],
      ["a 400-digit integer", bodyWith(`{"n":${"9".repeat(400)}}`), "number_not_exact", "/payload/n"],
      ["an exponent past any integer: 1e99999999999999999999999", bodyWith('{"n":1e99999999999999999999999}'), "number_out_of_range", "/payload/n"],
    ];
    for (const [what, body, code, pointer] of cases) {
      it(`answers 400 ${code} at ${pointer} to ${what} and writes nothing`, async () => {
        const a = await api();
        await expectRejected(a, postEvent(body), 400, code, pointer);
      });
    }

    it("rejects the whole batch when one item holds 1e400 (400 at /events/1/payload/n) and writes nothing", async () => {
      const a = await api();
      await expectRejected(a, a.batchEvent('{"events":[{"event_type":"a","payload":{}},{"event_type":"b","payload":{"n":1e400}}]}'), 400, "number_out_of_range", "/events/1/payload/n");
    });

    it("stores the edges of DynamoDB's number range and reads every one back through GET with every digit", async () => {
      const a = await api();
      const literals = [
        "12345678901234567890",
        "-12345678901234567890.123456789012345678",
        "1e-130",
        "-1e-130",
        "9.9999999999999999999999999999999999999e125",
        "12345678901234567890123456789012345678000",
        "0.00000000000000000000000000000000000001234",
        "0e999999",
        "1E+2",
        "5e-324",
      ].filter((l) => l !== "5e-324"); // below 1e-130: rejected, see the cases above
      const payload = `{${literals.map((l, i) => `"n${i}":${l}`).join(",")}}`;
      const created = await a.ingest(postEvent(bodyWith(payload)));
      expect(created.statusCode, created.body).to.equal(201);
      const read = await a.getEvent(idOf(created));
      const stored = parseExactJson(read.body!) as { payload: unknown };
      expect(normalizeJson(stored.payload)).to.deep.equal(normalizeJson(parseExactJson(payload)));
      expect(read.body).to.include("12345678901234567890").and.include("-12345678901234567890.123456789012345678");
    });
  });

  describe("prototype keys", () => {
    const cases: [string, string, string][] = [
      ["constructor at the top level", '{"event_type":"t","payload":{},"constructor":{"prototype":{"polluted":true}}}', "/constructor"],
      ["prototype at the top level", '{"event_type":"t","prototype":{"polluted":true},"payload":{}}', "/prototype"],
      ["__proto__ spelled with \\u escapes", bodyWith('{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}'), "/payload/__proto__"],
      ['a nested {"constructor":{"name":"String"}}', bodyWith('{"user":{"profile":{"constructor":{"name":"String"}}}}'), "/payload/user/profile/constructor"],
      ["__proto__ in metadata", '{"event_type":"t","payload":{},"metadata":{"__proto__":"x"}}', "/metadata/__proto__"],
      ["prototype inside an array of objects", bodyWith('{"a":[{},{"b":{"prototype":1}}]}'), "/payload/a/1/b/prototype"],
    ];
    for (const [what, body, pointer] of cases) {
      it(`answers 400 forbidden_key at ${pointer} to ${what}, writes nothing and pollutes nothing`, async () => {
        const a = await api();
        await expectRejected(a, postEvent(body), 400, "forbidden_key", pointer);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect(String({})).to.equal("[object Object]");
      });
    }

    it("rejects a batch whose item hides __proto__ (400 at /events/0/payload/__proto__), and never stores a \"[object Object]\"", async () => {
      const a = await api();
      await expectRejected(a, a.batchEvent('{"events":[{"event_type":"t","payload":{"__proto__":{"toString":"x"}}}]}'), 400, "forbidden_key", "/events/0/payload/__proto__");
      await expectRejected(a, postEvent(bodyWith('{"constructor":{"name":"String"}}')), 400, "forbidden_key", "/payload/constructor");
      expect(JSON.stringify(await a.items())).not.to.include("[object Object]");
    });

    it("stores keys that only look dangerous (toString, valueOf, hasOwnProperty, __proto__ with a space, DynamoDB type tags) exactly as sent, and Object.prototype stays as it was", async () => {
      const a = await api();
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      const payload = {
        toString: "x",
        valueOf: { a: 1 },
        hasOwnProperty: [1],
        __defineGetter__: null,
        "__proto__ ": 1,
        Constructor: { name: "String" },
        N: { S: "not a string attribute" },
        M: { NULL: true },
        L: [{ BOOL: "yes" }],
      };
      const created = await a.ingest(postEvent({ event_type: "tricky.keys", payload }));
      expect(created.statusCode, created.body).to.equal(201);
      const read = await a.getEvent(idOf(created));
      expect(JSON.parse(read.body!).payload).to.deep.equal(payload);
      expect(read.body).not.to.include("[object Object]");
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(before);
    });
  });

  describe("empty strings in keys and index attributes", () => {
    const cases: [string, () => HttpEvent, string, string][] = [
      ['event_type ""', () => postEvent({ event_type: "", payload: {} }), "validation_failed", "/event_type"],
      ['a payload key ""', () => postEvent(bodyWith('{"ok":1,"":2}')), "empty_key", "/payload/"],
      ['a nested payload key ""', () => postEvent(bodyWith('{"a":[{"":{}}]}')), "empty_key", "/payload/a/0/"],
      ['a metadata key ""', () => postEvent('{"event_type":"t","payload":{},"metadata":{"":"x"}}'), "empty_key", "/metadata/"],
      ['the only key of a batch item ""', () => httpEvent({ routeKey: "POST /events/batch", body: '{"events":[{"":1}]}' }), "empty_key", "/events/0/"],
    ];
    for (const [what, event, code, pointer] of cases) {
      it(`answers 400 ${code} at "${pointer}" to ${what} and writes nothing`, async () => {
        const a = await api();
        await expectRejected(a, event(), 400, code, pointer);
      });
    }

    it('reports 400 for a batch item with idempotency_key "" (the key of the stored id) and stores the other items', async () => {
      const a = await api();
      const response = await a.ingest(a.batchEvent({ events: [{ event_type: "a", payload: {}, idempotency_key: "" }, { event_type: "b", payload: {} }] }));
      expect(response.statusCode).to.equal(207);
      const body = jsonBody<BatchBody>(response);
      expect(body.results.map((r) => r.status)).to.deep.equal([400, 201]);
      expect([...new Set(body.results[0]!.error!.errors!.map((e) => e.pointer))]).to.deep.equal(["/events/0/idempotency_key"]);
      expect((await a.items()).map((i) => i.event_type)).to.deep.equal(["b"]);
    });

    it("stores empty strings where DynamoDB allows them (payload and metadata values, not keys) and reads them back", async () => {
      const a = await api();
      const sent = { event_type: "empties", payload: { s: "", list: ["", { t: "" }] }, metadata: { note: "" } };
      const created = await a.ingest(postEvent(sent));
      expect(created.statusCode, created.body).to.equal(201);
      expect(JSON.parse((await a.getEvent(idOf(created))).body!)).to.deep.include(sent);
    });

    it("answers 400 invalid_query, never 500, to empty status, event_type, limit and cursor parameters, and 404 to an empty event id", async () => {
      const a = await api();
      for (const [routeKey, parameter] of [["GET /events", "status"], ["GET /events", "event_type"], ["GET /events", "limit"], ["GET /events", "cursor"], ["GET /inbox", "cursor"], ["GET /inbox", "limit"]] as const) {
        const event = httpEvent({ routeKey, headers: { "content-type": undefined } });
        event.queryStringParameters = { [parameter]: "" };
        const problem = expectProblem(await a.read(event), event, 400, "invalid_query");
        expect(problem.errors!.map((e) => e.parameter)).to.deep.equal([parameter]);
      }
      const response = await a.getEvent("");
      expect(response.statusCode).to.equal(404);
    });
  });

  describe("encoding: invalid UTF-8, lone surrogates, duplicate keys", () => {
    const invalidUtf8: [string, number[]][] = [
      ["an overlong encoding of '/' (C0 AF)", [0xc0, 0xaf]],
      ["a UTF-8-encoded surrogate (ED A0 80, CESU-8)", [0xed, 0xa0, 0x80]],
      ["a truncated three-byte sequence (E2 82)", [0xe2, 0x82]],
      ["a code point above U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
      ["a lone continuation byte (80)", [0x80]],
    ];
    for (const [what, bytes] of invalidUtf8) {
      it(`answers 400 invalid_encoding to a body with ${what}, plain and gzipped, and writes nothing`, async () => {
        const a = await api();
        const raw = Buffer.concat([Buffer.from('{"event_type":"t","payload":{"s":"'), Buffer.from(bytes), Buffer.from('"}}')]);
        await expectRejected(a, postEvent(raw.toString("base64"), { isBase64Encoded: true }), 400, "invalid_encoding");
        await expectRejected(a, postEvent(gzipSync(raw).toString("base64"), { isBase64Encoded: true, headers: { "content-encoding": "gzip" } }), 400, "invalid_encoding");
      });
    }

    const surrogates: [string, string, string][] = [
      ["an escaped lone surrogate in a key", bodyWith('{"k\\udc00":1}'), "/payload"],
      ["a raw lone surrogate in a value", bodyWith('{"s":"x\ud800y"}'), "/payload/s"],
      ["a surrogate pair in the wrong order", bodyWith('{"s":"\\ude80\\ud83d"}'), "/payload/s"],
      ["a lone surrogate in event_type", '{"event_type":"a\\ud800","payload":{}}', "/event_type"],
      ["a lone surrogate in a metadata value", '{"event_type":"t","payload":{},"metadata":{"m":"\\udfff"}}', "/metadata/m"],
    ];
    for (const [what, body, pointer] of surrogates) {
      it(`answers 400 invalid_unicode at "${pointer}" to ${what} and writes nothing`, async () => {
        const a = await api();
        await expectRejected(a, postEvent(body), 400, "invalid_unicode", pointer);
      });
    }

    it("stores an escaped surrogate pair as the character it spells", async () => {
      const a = await api();
      const created = await a.ingest(postEvent(bodyWith('{"s":"\\ud83d\\ude80"}')));
      expect(created.statusCode, created.body).to.equal(201);
      expect(JSON.parse((await a.getEvent(idOf(created))).body!).payload).to.deep.equal({ s: "🚀" });
    });

    const duplicates: [string, () => HttpEvent, string][] = [
      ["a repeated metadata key", () => postEvent('{"event_type":"t","payload":{},"metadata":{"tier":"free","tier":"pro"}}'), "/metadata/tier"],
      ["a repeated key inside a batch item", () => httpEvent({ routeKey: "POST /events/batch", body: '{"events":[{"event_type":"a","payload":{}},{"event_type":"b","payload":{"x":1,"x":2}}]}' }), "/events/1/payload/x"],
      ["a repeated events key in the batch envelope", () => httpEvent({ routeKey: "POST /events/batch", body: '{"events":[],"events":[{"event_type":"a","payload":{}}]}' }), "/events"],
    ];
    for (const [what, event, pointer] of duplicates) {
      it(`answers 400 duplicate_key at ${pointer} to ${what} (duplicates are an error, not "last wins") and writes nothing`, async () => {
        const a = await api();
        await expectRejected(a, event(), 400, "duplicate_key", pointer);
      });
    }

    it("answers 400 invalid_json to a text body that starts with a byte order mark and writes nothing", async () => {
      const a = await api();
      await expectRejected(a, postEvent(`\ufeff${bodyWith("{}")}`), 400, "invalid_json");
    });
  });

  describe("transport", () => {
    for (const contentType of ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/json", "application/jsonp", "json", "application/json+xml"]) {
      it(`answers 415 unsupported_media_type to Content-Type ${contentType} with a valid JSON body and writes nothing`, async () => {
        const a = await api();
        await expectRejected(a, postEvent(bodyWith("{}"), { headers: { "content-type": contentType } }), 415, "unsupported_media_type");
      });
    }

    it("answers 413 to a gzip bomb on the batch route (1 MB limit) and to concatenated gzip members that together inflate past the limit, writing nothing", async () => {
      const a = await api();
      const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)).toString("base64");
      await expectRejected(a, httpEvent({ routeKey: "POST /events/batch", body: bomb, isBase64Encoded: true, headers: { "content-encoding": "gzip" } }), 413, "payload_too_large");
      const member = gzipSync(Buffer.alloc(40 * 1024, 0x20)); // each under 64 KB, two together over
      await expectRejected(a, postEvent(Buffer.concat([member, member]).toString("base64"), { isBase64Encoded: true, headers: { "content-encoding": "gzip" } }), 413, "payload_too_large");
    });

    it("answers 415 to stacked encodings (gzip, gzip) and 400 invalid_encoding to a gzip of a gzip declared once, writing nothing", async () => {
      const a = await api();
      const twice = gzipSync(gzipSync(Buffer.from(bodyWith("{}")))).toString("base64");
      await expectRejected(a, postEvent(twice, { isBase64Encoded: true, headers: { "content-encoding": "gzip, gzip" } }), 415, "unsupported_content_encoding");
      await expectRejected(a, postEvent(twice, { isBase64Encoded: true, headers: { "content-encoding": "gzip" } }), 400, "invalid_encoding");
    });
  });

  describe("server-owned fields", () => {
    for (const field of ["received_at", "request_id", "delivery_attempts", "delivered_at", "ttl", "schema_version"]) {
      it(`answers 400 server_owned_field at /${field} when the client sends ${field}, and writes nothing`, async () => {
        const a = await api();
        const event = postEvent({ event_type: "t", payload: {}, [field]: field === "delivery_attempts" ? 99 : "forged" });
        const problem = await expectRejected(a, event, 400, "validation_failed", `/${field}`);
        expect(problem.errors![0]).to.include({ code: "server_owned_field" });
      });
    }

    for (const field of ["status_shard", "request_sha256", "idempotency_key"]) {
      it(`answers 400 unknown_field at /${field} to the internal attribute ${field} on POST /events, and writes nothing`, async () => {
        const a = await api();
        const problem = await expectRejected(a, postEvent({ event_type: "t", payload: {}, [field]: "delivered#0" }), 400, "validation_failed", `/${field}`);
        expect(problem.errors![0]).to.include({ code: "unknown_field" });
      });
    }

    it("reports 400 for each batch item that sets event_id, status, created_at or source, and stores the honest items with server values", async () => {
      const a = await api();
      const forged = { event_id: "evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN", status: "delivered", created_at: "2000-01-01T00:00:00.000Z", source: { api_key_id: "admin" } };
      const events = [
        ...Object.entries(forged).map(([field, value]) => ({ event_type: "forged", payload: {}, [field]: value })),
        { event_type: "honest", payload: {} },
      ];
      const body = jsonBody<BatchBody>(await a.ingest(a.batchEvent({ events })));
      expect(body.results.map((r) => r.status)).to.deep.equal([400, 400, 400, 400, 201]);
      body.results.slice(0, 4).forEach((r, i) => expect(r.error!.errors!.map((e) => e.pointer)).to.deep.equal([`/events/${i}/${Object.keys(forged)[i]}`]));
      const items = await a.items();
      expect(items).to.have.length(1);
      expect(items[0]).to.include({ event_type: "honest", status: "pending" });
      expect(items[0]!.event_id).not.to.equal(forged.event_id);
    });

    it("keeps server-owned names inside the payload as the client's data, and sets the real fields itself", async () => {
      const a = await api();
      const payload = { ...{ event_id: "evt_forged", status: "delivered", created_at: "2000-01-01T00:00:00.000Z" }, source: { api_key_id: "admin" } };
      const created = await a.ingest(postEvent({ event_type: "nested.names", payload }));
      expect(created.statusCode, created.body).to.equal(201);
      const [item] = await a.items();
      expect(item!.payload).to.deep.equal(payload);
      expect(item).to.include({ event_id: idOf(created), status: "pending" });
      expect(item!.source).to.deep.equal({ api_key_id: "0123456789abcdef" });
      expect(item!.created_at).not.to.equal(payload.created_at);
    });
  });
});

describe("adversarial transport over the local stack (gateway emulator + deploy bundles)", function () {
  this.timeout(60_000);
  let stack: LocalStack;
  let dataDir: string;
  let key: string;
  let doc: DynamoDBDocumentClient;
  let logs: HandlerLogs;

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    stack = await startTestStack(dataDir);
    key = stack.createdApiKey!;
    doc = localDocumentClient(stack);
  });
  after(async () => {
    doc?.destroy();
    await stack?.close();
    logs.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const countItems = async () => (await doc.send(new ScanCommand({ TableName: stack.eventsTable, Select: "COUNT", ConsistentRead: true }))).Count ?? 0;
  const event = JSON.stringify({ event_type: "raw.http", payload: { ok: true } });

  /** A raw POST /events whose request line and header values add up to exactly `total` bytes. */
  function requestOfSize(total: number): string {
    const requestLine = "POST /events HTTP/1.1";
    const values = [new URL(stack.url).host, `Bearer ${key}`, "application/json", String(Buffer.byteLength(event)), "close"];
    const fixed = Buffer.byteLength(requestLine) + values.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
    const pad = "p".repeat(total - fixed);
    return `${requestLine}\r\nHost: ${values[0]}\r\nAuthorization: ${values[1]}\r\nContent-Type: ${values[2]}\r\nContent-Length: ${values[3]}\r\nConnection: ${values[4]}\r\nX-Pad: ${pad}\r\n\r\n${event}`;
  }

  it(`answers 431 from the gateway when the request line and header values exceed API Gateway's ${GATEWAY_LIMITS.maxRequestLineAndHeaderBytes} bytes, before any function runs, and writes nothing`, async () => {
    const before = await countItems();
    const response = await rawRequest(stack.url, requestOfSize(GATEWAY_LIMITS.maxRequestLineAndHeaderBytes + 1));
    expect(response.status).to.equal(431);
    expect(response.headers["content-type"]).to.equal("application/json");
    expect(JSON.parse(response.body)).to.deep.equal({ message: "Request Header Fields Too Large" });
    const requestId = response.headers["apigw-requestid"]!;
    expect(logs.of("authorize", requestId)).to.have.length(0);
    expect(logs.of("request", requestId)).to.have.length(0);
    expect(await countItems()).to.equal(before);
  });

  it(`passes a request of exactly ${GATEWAY_LIMITS.maxRequestLineAndHeaderBytes} bytes of request line and header values through to the handler (201)`, async () => {
    const response = await rawRequest(stack.url, requestOfSize(GATEWAY_LIMITS.maxRequestLineAndHeaderBytes));
    expect(response.status, response.body).to.equal(201);
  });

  it("answers 431 (Node's own header limit) to 20 KB of headers, and the stack keeps serving", async () => {
    const response = await rawRequest(stack.url, requestOfSize(20 * 1024));
    expect(response.status).to.equal(431);
    expect((await call(stack, "GET", "/health")).status).to.equal(200);
  });

  it("answers 404 event_not_found (problem+json), not 500, to malformed percent-encoding in a path parameter", async () => {
    for (const [method, path] of [["GET", "/events/%E0%A4%A"], ["POST", "/events/%ZZ/ack"], ["GET", "/events/%"]] as const) {
      const response = await call(stack, method, path, { key });
      expect(response.status, `${method} ${path}: ${response.text}`).to.equal(404);
      expect(response.headers.get("content-type")).to.equal("application/problem+json");
      expect(response.json()).to.include({ code: "event_not_found" });
    }
  });

  it("survives a client that sends half a body and hangs up: nothing stored, next requests served", async () => {
    const before = await countItems();
    const head = `POST /events HTTP/1.1\r\nHost: ${new URL(stack.url).host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    await abandonedRequest(stack.url, head, event.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await call(stack, "GET", "/health")).status).to.equal(200);
    expect(await countItems()).to.equal(before);
    expect((await call(stack, "POST", "/events", { key, body: event })).status).to.equal(201);
  });

  it('answers 413 payload_too_large (problem+json) to 150,000 × "€" over HTTP and writes nothing', async () => {
    const before = await countItems();
    const response = await call(stack, "POST", "/events", { key, body: EURO_PAYLOAD });
    expect(response.status).to.equal(413);
    expect(response.headers.get("content-type")).to.equal("application/problem+json");
    expect(response.json()).to.include({ code: "payload_too_large", request_id: response.requestId });
    expect(await countItems()).to.equal(before);
  });

  it("answers 400 nesting_too_deep to a 10,000-deep array over HTTP, and the process stays up", async () => {
    const before = await countItems();
    const response = await call(stack, "POST", "/events", { key, body: `{"event_type":"t","payload":{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}}` });
    expect(response.status).to.equal(400);
    expect(response.json()).to.include({ code: "nesting_too_deep" });
    expect(await countItems()).to.equal(before);
    expect((await call(stack, "POST", "/events", { key, body: event })).status).to.equal(201);
  });
});
