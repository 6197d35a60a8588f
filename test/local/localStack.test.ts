/**
 * The local stack end to end: started in-process on free ports with a fresh DATA_DIR, driven over
 * real HTTP with fetch, and checked against the HTTP contract and the local-stack promises in
 * DESIGN.md (API Gateway's own 401/403/404/413 answers, the authorizer cache TTL, persistence, the
 * DATA_DIR lock). The handlers' log lines (written by the bundles) tell which function ran.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { PROJECT_ROOT } from "../../components/bundle";
import { API_KEY_PATTERN, generateApiKey } from "../../handlers/lib/auth/apiKeys";
import { EVENT_ID_PATTERN } from "../../handlers/lib/primitives/ids";
import { PROBLEM_TYPE_PREFIX } from "../../handlers/lib/http/http";
import { API_KEYS_TABLE } from "../../handlers/lib/primitives/tables";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import type { RequestLogEntry } from "../../local/gateway";
import { DataDirInUseError, LOCAL_CREDENTIALS, LOCAL_KEY_FILE, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { ensureTable } from "../../local/tables";
import {
  call,
  captureHandlerLogs,
  localDocumentClient,
  startTestStack,
  tempDataDir,
  type ApiCall,
  type HandlerLogs,
} from "../support/localStack";

const TEN_MB = 10 * 1024 * 1024;
const EVENT = { event_type: "order.created", payload: { order_id: "o-1", total: 42.5, items: [{ sku: "a", qty: 2 }] } };

function keyIdOf(apiKey: string): string {
  return API_KEY_PATTERN.exec(apiKey)![1]!;
}

/** Asserts an answer API Gateway itself gives: `{"message": …}` as application/json. */
function expectGatewayAnswer(response: ApiCall, status: number, message: string): void {
  expect(response.status, response.text).to.equal(status);
  expect(response.headers.get("content-type")).to.equal("application/json");
  expect(response.json()).to.deep.equal({ message });
  expect(response.requestId).to.not.equal("");
}

/** Asserts a handler's RFC 9457 problem, tied to the gateway's request id. */
function expectProblem(response: ApiCall, status: number, code: string): Record<string, unknown> {
  expect(response.status, response.text).to.equal(status);
  expect(response.headers.get("content-type")).to.equal("application/problem+json");
  const body = response.json();
  expect(body).to.include({ type: PROBLEM_TYPE_PREFIX + code, status, code, request_id: response.requestId });
  expect(response.requestId).to.not.equal("");
  return body;
}

async function countItems(doc: DynamoDBDocumentClient, table: string): Promise<number> {
  const { Count } = await doc.send(new ScanCommand({ TableName: table, Select: "COUNT", ConsistentRead: true }));
  return Count ?? 0;
}

/** The error a start on `dataDir` fails with; a stack that starts anyway is closed and the test fails. */
async function failedStart(dataDir: string): Promise<Error> {
  let stack: LocalStack;
  try {
    stack = await startTestStack(dataDir);
  } catch (error) {
    return error as Error;
  }
  await stack.close();
  throw new Error(`a second local stack started on ${dataDir}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("local tables", () => {
  it("ensureTable returns only once a new table is ACTIVE, so the first write cannot race its creation; a repeat is a no-op", async () => {
    // dynalite, like DynamoDB, answers item calls on a CREATING table with ResourceNotFoundException.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;
    const server = dynalite({ createTableMs: 150 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      expect(await ensureTable(client, API_KEYS_TABLE, "keys")).to.equal(true);
      await client.send(new PutItemCommand({ TableName: "keys", Item: { key_id: { S: "k1" } } }));
      expect(await ensureTable(client, API_KEYS_TABLE, "keys")).to.equal(false);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("local stack (in-process, over HTTP)", () => {
  let logs: HandlerLogs;
  before(() => {
    logs = captureHandlerLogs();
  });
  after(() => {
    logs.restore();
  });

  describe("with the dev stack's settings", () => {
    let dataDir: string;
    let stack: LocalStack;
    let doc: DynamoDBDocumentClient;
    let keys: ApiKeyStore;
    let apiKey: string;
    const gatewayLog: RequestLogEntry[] = [];

    before(async () => {
      dataDir = tempDataDir();
      stack = await startTestStack(dataDir, { onRequest: (entry) => gatewayLog.push(entry) });
      doc = localDocumentClient(stack);
      keys = new ApiKeyStore(doc, stack.apiKeysTable);
      apiKey = stack.createdApiKey!;
    });
    after(async () => {
      doc?.destroy();
      await stack?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    describe("first start", () => {
      it("creates a local key with every scope (ingest, read, ack, replay) and saves it in $DATA_DIR/local-api-key", async () => {
        expect(apiKey).to.match(API_KEY_PATTERN);
        expect(stack.keyFile).to.equal(path.join(dataDir, LOCAL_KEY_FILE));
        expect(fs.readFileSync(stack.keyFile, "utf8").trim()).to.equal(apiKey);
        const listed = await keys.list();
        expect(listed.map((k) => [k.key_id, k.scopes])).to.deep.equal([[keyIdOf(apiKey), ["ingest", "read", "ack", "replay"]]]);
      });
    });

    describe("POST /events stores the event", () => {
      it("answers 201 with the gateway's request id, a Location, and stores the enriched event in the events table", async () => {
        const before = Date.now();
        const response = await call(stack, "POST", "/events", {
          key: apiKey,
          body: { ...EVENT, metadata: { source: "test" }, occurred_at: "2026-01-01T00:00:00+01:00" },
        });
        const after = Date.now();

        expect(response.status, response.text).to.equal(201);
        const body = response.json<{ event_id: string; status: string; created_at: string; delivered_at: null; request_id: string }>();
        expect(response.requestId).to.not.equal("");
        expect(body.request_id).to.equal(response.requestId);
        expect(response.headers.get("x-request-id")).to.equal(response.requestId);
        expect(body.event_id).to.match(EVENT_ID_PATTERN);
        expect(response.headers.get("location")).to.equal(`/events/${body.event_id}`);
        expect(body).to.include({ status: "pending", delivered_at: null });

        const { Item } = await doc.send(new GetCommand({ TableName: stack.eventsTable, Key: { event_id: body.event_id }, ConsistentRead: true }));
        expect(Item, "stored item").to.not.equal(undefined);
        expect(Item).to.deep.include({
          event_id: body.event_id,
          event_type: EVENT.event_type,
          payload: EVENT.payload,
          metadata: { source: "test" },
          occurred_at: "2026-01-01T00:00:00+01:00",
          created_at: body.created_at,
          request_id: response.requestId,
          source: { api_key_id: keyIdOf(apiKey) },
          status: "pending",
          delivery_attempts: 0,
          delivered_at: null,
          schema_version: 1,
        });
        expect(Item!.status_shard).to.match(/^pending#[0-7]$/); // statusIndexShards 8 in the dev stack
        expect(Item).to.not.have.property("ttl"); // enableTtl is false in the dev stack
        // received_at is API Gateway's request time (requestContext.timeEpoch), set by the emulator.
        const receivedAt = Date.parse(Item!.received_at as string);
        expect(receivedAt).to.be.within(before, after);
        expect(receivedAt).to.be.at.most(Date.parse(body.created_at));
      });
    });

    describe("authentication at the gateway", () => {
      it("answers 401 Unauthorized without an Authorization header, without calling the authorizer or the handler", async () => {
        const response = await call(stack, "POST", "/events", { body: EVENT });
        expectGatewayAnswer(response, 401, "Unauthorized");
        expect(logs.of("authorize", response.requestId)).to.have.length(0);
        expect(logs.of("request", response.requestId)).to.have.length(0);
      });

      const denials: [string, () => string, string][] = [
        ["a wrong secret", () => apiKey.slice(0, -1) + (apiKey.endsWith("a") ? "b" : "a"), "wrong_secret"],
        ["an unknown key", () => generateApiKey("never-stored", ["ingest"]).apiKey, "unknown_key"],
        ["a malformed key", () => "not-an-api-key", "malformed"],
      ];
      for (const [what, key, reason] of denials) {
        it(`answers 403 Forbidden for ${what}: the authorizer denies (${reason}) and the handler never runs`, async () => {
          const response = await call(stack, "POST", "/events", { key: key(), body: EVENT });
          expectGatewayAnswer(response, 403, "Forbidden");
          expect(logs.of("authorize", response.requestId).map((l) => [l.decision, l.reason])).to.deep.equal([["deny", reason]]);
          expect(logs.of("request", response.requestId)).to.have.length(0);
        });
      }

      it("serves GET /health without a key (public route, no authorizer)", async () => {
        const response = await call(stack, "GET", "/health");
        expect(response.status, response.text).to.equal(200);
        expect(response.json()).to.deep.equal({ status: "ok" });
        expect(logs.of("authorize", response.requestId)).to.have.length(0);
        expect(logs.of("request", response.requestId)).to.have.length(1);
      });

      it("answers 404 Not Found for an unknown path and for a known path with another method", async () => {
        for (const [method, urlPath] of [["GET", "/nope"], ["DELETE", "/events"]] as const) {
          const response = await call(stack, method, urlPath, { key: apiKey });
          expectGatewayAnswer(response, 404, "Not Found");
          expect(logs.of("authorize", response.requestId)).to.have.length(0);
        }
      });
    });

    describe("route scopes", () => {
      it("answers 403 insufficient_scope (problem+json from the handler) to a key with only the read scope on POST /events", async () => {
        const readOnly = await keys.create("reader", ["read"]);
        const before = await countItems(doc, stack.eventsTable);
        const response = await call(stack, "POST", "/events", { key: readOnly.apiKey, body: EVENT });
        const problem = expectProblem(response, 403, "insufficient_scope");
        expect(problem.detail).to.include('"ingest"');
        expect(response.headers.get("www-authenticate")).to.equal('Bearer error="insufficient_scope", scope="ingest"');
        expect(logs.of("authorize", response.requestId).map((l) => l.decision)).to.deep.equal(["allow"]);
        expect(await countItems(doc, stack.eventsTable)).to.equal(before);
      });
    });

    describe("payload size limits", () => {
      it("answers 413 Request Entity Too Large from the gateway to a body just over 10 MB, before any function runs", async () => {
        const response = await call(stack, "POST", "/events", { key: apiKey, body: "x".repeat(TEN_MB + 1) });
        expectGatewayAnswer(response, 413, "Request Entity Too Large");
        expect(logs.of("authorize", response.requestId)).to.have.length(0);
        expect(logs.of("request", response.requestId)).to.have.length(0);
      });

      it("passes a body of exactly 10 MB through to the handler, which rejects it with its own 413 problem", async () => {
        const response = await call(stack, "POST", "/events", { key: apiKey, body: "x".repeat(TEN_MB) });
        expectProblem(response, 413, "payload_too_large");
        expect(logs.of("request", response.requestId)).to.have.length(1);
      });

      it("answers 413 payload_too_large (problem+json from the handler) to a 100 KB event and writes nothing", async () => {
        expect(stack.settings.maxEventBytes).to.equal(65_536);
        const before = await countItems(doc, stack.eventsTable);
        const response = await call(stack, "POST", "/events", { key: apiKey, body: { event_type: "big", payload: { blob: "x".repeat(100 * 1024) } } });
        const problem = expectProblem(response, 413, "payload_too_large");
        expect(problem.detail).to.include("65536");
        expect(await countItems(doc, stack.eventsTable)).to.equal(before);
      });
    });

    describe("request bodies and content types", () => {
      it("answers 415 unsupported_media_type (problem+json from the handler) to an application/octet-stream body", async () => {
        const response = await call(stack, "POST", "/events", {
          key: apiKey,
          body: Buffer.from([0x00, 0xff, 0x10, 0x80]),
          headers: { "content-type": "application/octet-stream" },
        });
        expectProblem(response, 415, "unsupported_media_type");
        expect(logs.of("request", response.requestId)).to.have.length(1);
      });

      it("delivers a content-encoded body base64-encoded (isBase64Encoded): the handler decodes the bytes and finds them not UTF-8", async () => {
        // Passed as text, the invalid bytes would reach the handler as U+FFFD characters inside valid
        // JSON; only the base64-encoded bytes, decoded by the handler, show it is not UTF-8 at all.
        const body = Buffer.concat([Buffer.from('{"event_type":"a.b","payload":{"s":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
        const response = await call(stack, "POST", "/events", {
          key: apiKey,
          body,
          headers: { "content-type": "application/json", "content-encoding": "identity" },
        });
        expectProblem(response, 400, "invalid_encoding");
      });

      it("round-trips a base64-delivered JSON body to the stored payload byte for byte", async () => {
        const payload = { greeting: "héllo wörld ✓ 🚀" };
        const response = await call(stack, "POST", "/events", {
          key: apiKey,
          body: Buffer.from(JSON.stringify({ event_type: "utf8.check", payload }), "utf8"),
          headers: { "content-type": "application/json", "content-encoding": "identity" },
        });
        expect(response.status, response.text).to.equal(201);
        const { Item } = await doc.send(new GetCommand({ TableName: stack.eventsTable, Key: { event_id: response.json().event_id }, ConsistentRead: true }));
        expect(Item!.payload).to.deep.equal(payload);
      });

      it("answers 400 invalid_json with the request id to a body that is not JSON, and writes nothing", async () => {
        const before = await countItems(doc, stack.eventsTable);
        const response = await call(stack, "POST", "/events", { key: apiKey, body: '{"event_type": "a.b", "payload": {' });
        expectProblem(response, 400, "invalid_json");
        expect(await countItems(doc, stack.eventsTable)).to.equal(before);
      });
    });

    describe("gateway request log", () => {
      it("reports each request once (method, path without query, status, duration_ms, request_id), gateway answers included", async () => {
        const responses = [
          [await call(stack, "POST", "/events", { key: apiKey, body: EVENT }), "POST", "/events", 201],
          [await call(stack, "POST", "/events", { body: EVENT }), "POST", "/events", 401],
          [await call(stack, "GET", "/health?verbose=1"), "GET", "/health", 200],
          [await call(stack, "GET", "/nope?x=1"), "GET", "/nope", 404],
        ] as const;
        for (const [response, method, urlPath, status] of responses) {
          expect(response.status).to.equal(status);
          const entries = gatewayLog.filter((e) => e.request_id === response.requestId);
          expect(entries, `${method} ${urlPath}`).to.have.length(1);
          expect(entries[0]).to.include({ method, path: urlPath, status, request_id: response.requestId });
          expect(entries[0]!.duration_ms).to.be.a("number").and.be.greaterThan(0).and.lessThan(10_000);
        }
      });
    });
  });

  describe("authorizer cache TTL", () => {
    /** A stack with `ttlSeconds`, a key store on its table, and a fresh ingest key. */
    function stackWithTtl(ttlSeconds: number) {
      const ctx = {} as { dataDir: string; stack: LocalStack; doc: DynamoDBDocumentClient; keys: ApiKeyStore };
      before(async () => {
        ctx.dataDir = tempDataDir();
        ctx.stack = await startTestStack(ctx.dataDir, { settings: { authorizerCacheTtlSeconds: ttlSeconds } });
        ctx.doc = localDocumentClient(ctx.stack);
        ctx.keys = new ApiKeyStore(ctx.doc, ctx.stack.apiKeysTable);
      });
      after(async () => {
        ctx.doc?.destroy();
        await ctx.stack?.close();
        fs.rmSync(ctx.dataDir, { recursive: true, force: true });
      });
      return ctx;
    }

    describe("with a 2 s TTL", () => {
      const TTL_MS = 2000;
      const ctx = stackWithTtl(TTL_MS / 1000);

      it("keeps passing a revoked key from the cached decision until the TTL runs out, then denies it (403)", async () => {
        expect(ctx.stack.settings.authorizerCacheTtlSeconds).to.equal(2);
        const { apiKey, record } = await ctx.keys.create("soon-revoked", ["ingest"]);

        const first = await call(ctx.stack, "POST", "/events", { key: apiKey, body: EVENT });
        const cachedUntil = Date.now() + TTL_MS; // the decision expires no later than this
        expect(first.status, first.text).to.equal(201);
        expect(logs.of("authorize", first.requestId)).to.have.length(1);

        await ctx.keys.revoke(record.key_id);
        const cached = await call(ctx.stack, "POST", "/events", { key: apiKey, body: EVENT });
        expect(Date.now(), "the cached request must be sent within the TTL").to.be.below(cachedUntil - TTL_MS / 2);
        expect(cached.status, cached.text).to.equal(201);
        expect(logs.of("authorize", cached.requestId), "answered from the cache").to.have.length(0);

        await sleep(cachedUntil - Date.now() + 50);
        const expired = await call(ctx.stack, "POST", "/events", { key: apiKey, body: EVENT });
        expectGatewayAnswer(expired, 403, "Forbidden");
        expect(logs.of("authorize", expired.requestId).map((l) => l.reason)).to.deep.equal(["revoked"]);
      });
    });

    describe("with TTL 0 (no caching)", () => {
      const ctx = stackWithTtl(0);

      it("calls the authorizer on every request, so a revoked key is denied (403) immediately", async () => {
        const { apiKey, record } = await ctx.keys.create("revoked-now", ["ingest"]);
        const first = await call(ctx.stack, "POST", "/events", { key: apiKey, body: EVENT });
        expect(first.status, first.text).to.equal(201);

        await ctx.keys.revoke(record.key_id);
        const denied = await call(ctx.stack, "POST", "/events", { key: apiKey, body: EVENT });
        expectGatewayAnswer(denied, 403, "Forbidden");
        expect(logs.of("authorize", denied.requestId).map((l) => [l.decision, l.reason])).to.deep.equal([["deny", "revoked"]]);
        expect(logs.of("request", denied.requestId)).to.have.length(0);
      });
    });
  });

  describe("restart on the same DATA_DIR", () => {
    let dataDir: string;
    let firstKey: string;
    let eventId: string;
    let stack: LocalStack;
    let doc: DynamoDBDocumentClient;

    before(async () => {
      dataDir = tempDataDir();
      const first = await startTestStack(dataDir);
      try {
        firstKey = first.createdApiKey!;
        const posted = await call(first, "POST", "/events", { key: firstKey, body: EVENT });
        expect(posted.status, posted.text).to.equal(201);
        eventId = posted.json().event_id as string;
      } finally {
        await first.close();
      }
      stack = await startTestStack(dataDir);
      doc = localDocumentClient(stack);
    });
    after(async () => {
      doc?.destroy();
      await stack?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("keeps the events stored before the restart", async () => {
      const { Item } = await doc.send(new GetCommand({ TableName: stack.eventsTable, Key: { event_id: eventId }, ConsistentRead: true }));
      expect(Item).to.deep.include({ event_id: eventId, event_type: EVENT.event_type, payload: EVENT.payload });
    });

    it("creates no new key on the second start: createdApiKey is undefined and the key file still holds the first key", async () => {
      expect(firstKey).to.match(API_KEY_PATTERN);
      expect(stack.createdApiKey).to.equal(undefined);
      expect(fs.readFileSync(stack.keyFile, "utf8").trim()).to.equal(firstKey);
      expect((await new ApiKeyStore(doc, stack.apiKeysTable).list()).map((k) => k.key_id)).to.deep.equal([keyIdOf(firstKey)]);
    });

    it("accepts the key from $DATA_DIR/local-api-key after the restart (201)", async () => {
      const key = fs.readFileSync(path.join(dataDir, LOCAL_KEY_FILE), "utf8").trim();
      const response = await call(stack, "POST", "/events", { key, body: EVENT });
      expect(response.status, response.text).to.equal(201);
    });
  });

  describe("one stack per DATA_DIR", () => {
    let dataDir: string;
    let stack: LocalStack;
    const otherDirs: string[] = [];

    before(async () => {
      dataDir = tempDataDir();
      stack = await startTestStack(dataDir);
    });
    after(async () => {
      await stack?.close();
      for (const dir of [dataDir, ...otherDirs]) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("refuses a second stack on the same DATA_DIR while the first runs, with a clear 'in use' error; the first keeps serving", async () => {
      const error = await failedStart(dataDir);
      expect(error).to.be.instanceOf(DataDirInUseError);
      expect(error.message).to.match(/in use/).and.include(dataDir);
      expect(fs.readFileSync(path.join(dataDir, ".lock"), "utf8")).to.equal(String(process.pid));
      expect((await call(stack, "GET", "/health")).status).to.equal(200);
    });

    it("refuses a DATA_DIR locked by another running process, naming that process", async () => {
      const lockedDir = tempDataDir();
      otherDirs.push(lockedDir);
      fs.writeFileSync(path.join(lockedDir, ".lock"), String(process.ppid)); // a live process that is not this one
      const error = await failedStart(lockedDir);
      expect(error).to.be.instanceOf(DataDirInUseError);
      expect(error.message).to.match(/in use by another local stack/).and.include(`pid ${process.ppid}`);
    });

    it("makes `npm run dev` on a DATA_DIR in use exit 1 with a one-line message, no stack trace", async function () {
      this.timeout(15_000);
      const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          tsx,
          [path.join(PROJECT_ROOT, "local", "dev.ts")],
          { cwd: PROJECT_ROOT, env: { ...process.env, DATA_DIR: dataDir, PORT: "0", DYNAMODB_PORT: "0" }, timeout: 12_000 },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      });
      expect(result.code, result.stderr).to.equal(1);
      expect(result.stderr.trim()).to.match(/^event-ingestion: .* is in use by another local stack \(pid \d+\)/);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.not.match(/\n\s+at /);
    });
  });

  describe("releasing the DATA_DIR", () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("takes over a stale lock left by a process that has exited, and removes its lock on close", async () => {
      const dataDir = tempDataDir();
      dirs.push(dataDir);
      const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
      fs.writeFileSync(path.join(dataDir, ".lock"), String(deadPid));
      const stack = await startTestStack(dataDir);
      try {
        expect(fs.readFileSync(path.join(dataDir, ".lock"), "utf8")).to.equal(String(process.pid));
      } finally {
        await stack.close();
      }
      expect(fs.existsSync(path.join(dataDir, ".lock"))).to.equal(false);
    });

    it("a repeated close() of a stopped stack does not release the lock of the stack now running on that DATA_DIR", async () => {
      const dataDir = tempDataDir();
      dirs.push(dataDir);
      const first = await startTestStack(dataDir);
      await first.close();
      const second = await startTestStack(dataDir);
      try {
        await first.close();
        const error = await failedStart(dataDir);
        expect(error).to.be.instanceOf(DataDirInUseError);
      } finally {
        await second.close();
      }
    });
  });
});
