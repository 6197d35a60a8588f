/**
 * EventClient's rules, one at a time, against the in-test fake server (real HTTP): what is retried
 * and what is not, Retry-After, the same key on every attempt, batching by count and bytes, gzip,
 * overflow, abort and close, the key kept out of everything observable, typed sends, and the
 * server limits it batches within.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { inspect } from "node:util";
import { EventClient, SERVER_LIMITS, type EventClientOptions, type RetryInfo, type SendOutcome } from "../../client/src/index";
import { backoffDelay } from "../../client/src/backoff";
import { utf8Length } from "../../client/src/pendingEvent";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { startFakeIngestServer, type FakeIngestServer } from "../support/fakeIngestServer";

describe("EventClient", function () {
  this.timeout(20_000);
  let server: FakeIngestServer;
  const clients: EventClient[] = [];
  before(async () => {
    server = await startFakeIngestServer();
  });
  beforeEach(() => server.reset());
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close({ timeoutMs: 1000 });
    server.retryAfterSeconds = 0;
  });
  after(() => server.close());

  const FAST = { retryBaseDelayMs: 1, retryMaxDelayMs: 5, flushIntervalMs: 5 };
  function client(options: Partial<EventClientOptions> = {}): EventClient {
    const c = new EventClient({ url: server.url, apiKey: server.apiKey, ...FAST, ...options });
    clients.push(c);
    return c;
  }

  describe("batching", () => {
    it("sends one event alone to POST /events with its Idempotency-Key, several together to POST /events/batch", async () => {
      const c = client();
      const one = await c.send("a.b", { n: 1 }, { idempotencyKey: "key-1" });
      expect(one).to.deep.include({ status: "stored", idempotencyKey: "key-1", attempts: 1 });
      await Promise.all([c.send("a.b", { n: 2 }), c.send("a.b", { n: 3 }), c.send("a.b", { n: 4 })]);
      expect(server.requests.map((r) => [r.path, r.keys.length])).to.deep.equal([
        ["/events", 1],
        ["/events/batch", 3],
      ]);
      expect(server.requests[0]!.keys).to.deep.equal(["key-1"]);
    });

    it("sends a full batch at once and never more than maxBatchSize events per request", async () => {
      const c = client({ maxBatchSize: 10, flushIntervalMs: 3_600_000 });
      const sends = Array.from({ length: 25 }, (_, i) => c.send("a.b", { i }));
      await Promise.all(sends.slice(0, 20));
      expect(c.stats().waiting).to.equal(5);
      await c.flush();
      expect(server.requests.map((r) => r.keys.length)).to.deep.equal([10, 10, 5]);
    });

    it("splits by bytes so that no body exceeds 1 MB, and sends an event too large for any batch alone", async () => {
      const c = client({ flushIntervalMs: 3_600_000 });
      const big = "x".repeat(300 * 1024);
      const sends = Array.from({ length: 7 }, (_, i) => c.send("a.b", { i, big }));
      sends.push(c.send("a.b", { huge: "y".repeat(SERVER_LIMITS.batchMaxBytes) }));
      await c.flush();
      for (const o of await Promise.all(sends)) expect(o.status).to.equal("stored");
      for (const r of server.requests) expect(r.bodyBytes).to.be.at.most(r.path === "/events/batch" ? SERVER_LIMITS.batchMaxBytes : Infinity);
      // Requests run concurrently, so their order at the server is not fixed.
      expect(server.requests.map((r) => `${r.path} ${r.keys.length}`).sort()).to.deep.equal(["/events 1", "/events 1", "/events/batch 3", "/events/batch 3"]);
    });

    it("measures bodies in UTF-8 bytes, as the server's 1 MB limit does", () => {
      for (const text of ["plain ascii", "é", "€ and 😀", "lone \ud800 surrogate", ""]) expect(utf8Length(text), text).to.equal(Buffer.byteLength(text, "utf8"));
    });

    it("gzips bodies from gzipMinBytes on, and never with gzipMinBytes: false", async () => {
      await client({ gzipMinBytes: 1000 }).send("a.b", { pad: "z".repeat(2000) });
      await client({ gzipMinBytes: 1000 }).send("a.b", { pad: "small" });
      await client({ gzipMinBytes: false }).send("a.b", { pad: "z".repeat(2000) });
      expect(server.requests.map((r) => r.contentEncoding)).to.deep.equal(["gzip", undefined, undefined]);
      expect(server.requests[0]!.wireBytes).to.be.lessThan(server.requests[0]!.bodyBytes);
    });
  });

  describe("retries", () => {
    for (const fault of ["503", "429", "408", "500", "drop-before", "drop-after"] as const) {
      it(`retries after ${fault} with the same idempotency key, and the event is stored once`, async () => {
        server.faults.push(fault);
        const outcome = await client().send("a.b", { n: 1 });
        expect(outcome.attempts).to.equal(2);
        expect(server.requests.map((r) => r.keys)).to.deep.equal([[outcome.idempotencyKey], [outcome.idempotencyKey]]);
        expect(outcome.status).to.equal(fault === "drop-after" ? "duplicate" : "stored");
        expect(server.stored.size).to.equal(1);
      });
    }

    it("retries a request that outlives timeoutMs with the same key (its outcome was unknown)", async () => {
      server.faults.push("slow");
      const outcome = await client({ timeoutMs: 50 }).send("a.b", { n: 1 });
      expect(outcome).to.include({ attempts: 2 });
      expect(["stored", "duplicate"]).to.include(outcome.status);
      expect(new Set(server.requests.map((r) => r.keys[0]))).to.deep.equal(new Set([outcome.idempotencyKey]));
    });

    for (const fault of ["400", "401"] as const) {
      it(`does not retry ${fault}: the outcome is rejected with the server's problem`, async () => {
        server.faults.push(fault);
        const outcome = await client().send("a.b", { n: 1 });
        expect(outcome).to.deep.include({ status: "rejected", attempts: 1 });
        expect((outcome as Extract<SendOutcome, { status: "rejected" }>).problem.status).to.equal(Number(fault));
        expect(server.requests).to.have.length(1);
      });
    }

    it("does not retry 422 (the key was used for another event)", async () => {
      const c = client();
      await c.send("a.b", { n: 1 }, { idempotencyKey: "k" });
      const outcome = await c.send("a.b", { n: 2 }, { idempotencyKey: "k" });
      expect(outcome).to.deep.include({ status: "rejected", attempts: 1 });
      expect((outcome as Extract<SendOutcome, { status: "rejected" }>).problem).to.include({ status: 422, code: "idempotency_key_reused" });
    });

    it("retries only the items of a 207 that answered 503, each with its own key", async () => {
      server.faults.push("item-503");
      const c = client({ flushIntervalMs: 3_600_000 });
      const sends = Array.from({ length: 4 }, (_, i) => c.send("a.b", { i }));
      await c.flush();
      const outcomes = await Promise.all(sends);
      expect(outcomes.map((o) => [o.status, o.attempts])).to.deep.equal([
        ["stored", 1],
        ["stored", 2],
        ["stored", 1],
        ["stored", 2],
      ]);
      expect(server.requests[1]!.keys).to.deep.equal([outcomes[1]!.idempotencyKey, outcomes[3]!.idempotencyKey]);
    });

    it("waits at least Retry-After before the next attempt", async () => {
      server.retryAfterSeconds = 1;
      server.faults.push("503");
      const retries: RetryInfo[] = [];
      await client({ hooks: { retry: (info) => retries.push(info) } }).send("a.b", { n: 1 });
      expect(retries).to.have.length(1);
      expect(retries[0]).to.include({ attempt: 1, events: 1, reason: "503 injected_503" });
      expect(retries[0]!.delayMs).to.be.at.least(1000);
    });

    it("backs off with full jitter: uniformly below base × 2^(n-1), capped, never below Retry-After", () => {
      expect(backoffDelay(1, 100, 10_000, undefined, () => 0)).to.equal(0);
      expect(backoffDelay(1, 100, 10_000, undefined, () => 0.999)).to.equal(99);
      expect(backoffDelay(4, 100, 10_000, undefined, () => 0.999)).to.equal(799);
      expect(backoffDelay(30, 100, 10_000, undefined, () => 0.999)).to.equal(9990);
      expect(backoffDelay(1, 100, 10_000, 2000, () => 0.5)).to.equal(2000);
    });

    it("gives up after maxRetries: failed, retries_exhausted, outcome unknown after a 5xx, the last error named", async () => {
      server.faults.push("503", "503", "503", "503");
      const outcome = await client({ maxRetries: 2 }).send("a.b", { n: 1 });
      expect(outcome).to.deep.include({ status: "failed", reason: "retries_exhausted", attempts: 3, outcomeUnknown: true, lastError: "503 injected_503" });
    });

    it("gives up when the next wait would pass maxRetryTime", async () => {
      server.retryAfterSeconds = 5;
      server.faults.push("429");
      const outcome = await client({ maxRetryTime: 1000 }).send("a.b", { n: 1 });
      expect(outcome).to.deep.include({ status: "failed", reason: "retries_exhausted", attempts: 1, outcomeUnknown: false });
    });
  });

  describe("overflow, abort and close", () => {
    it("overflow reject: a send beyond maxQueueSize fails as queue_full and is counted", async () => {
      const drops: unknown[] = [];
      const c = client({ maxQueueSize: 2, flushIntervalMs: 3_600_000, hooks: { drop: (info) => drops.push(info) } });
      const sends = [c.send("a.b", { i: 0 }), c.send("a.b", { i: 1 }), c.send("a.b", { i: 2 })];
      expect(await sends[2]!).to.include({ status: "failed", reason: "queue_full" });
      await c.flush();
      expect((await sends[0]!).status).to.equal("stored");
      expect(c.stats()).to.include({ dropped: 1, stored: 2, failed: 1 });
      expect(drops).to.have.length(1);
    });

    it("overflow drop-oldest: the oldest waiting event fails as dropped, the new one is sent", async () => {
      const c = client({ maxQueueSize: 2, overflow: "drop-oldest", flushIntervalMs: 3_600_000 });
      const sends = [c.send("a.b", { i: 0 }), c.send("a.b", { i: 1 }), c.send("a.b", { i: 2 })];
      await c.flush();
      expect((await Promise.all(sends)).map((o) => o.status)).to.deep.equal(["failed", "stored", "stored"]);
      expect(await sends[0]!).to.include({ reason: "dropped", attempts: 0 });
      expect(c.stats().dropped).to.equal(1);
    });

    it("the signal aborts requests in flight (failed, aborted, outcome unknown) and refuses later sends", async () => {
      server.faults.push("hang");
      const controller = new AbortController();
      const c = client({ signal: controller.signal });
      const inFlight = c.send("a.b", { n: 1 });
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      expect(await inFlight).to.deep.include({ status: "failed", reason: "aborted", outcomeUnknown: true, attempts: 1 });
      expect(await c.send("a.b", { n: 2 })).to.include({ status: "failed", reason: "closed" });
    });

    it("close({ timeoutMs }) stops waiting for an answer that does not come", async () => {
      server.faults.push("hang");
      const c = client({ timeoutMs: 60_000 });
      const pending = c.send("a.b", { n: 1 });
      await c.close({ timeoutMs: 100 });
      expect(await pending).to.include({ status: "failed", reason: "aborted", outcomeUnknown: true });
    });

    it("close() is idempotent and flushes events that wait for the interval", async () => {
      const c = client({ flushIntervalMs: 3_600_000 });
      const pending = c.send("a.b", { n: 1 });
      await Promise.all([c.close(), c.close()]);
      expect((await pending).status).to.equal("stored");
    });
  });

  describe("the API key", () => {
    it("is not in util.inspect, JSON, stats, hooks, outcomes or option errors", async () => {
      const apiKey = "secret-key-that-must-never-show-4242";
      const seen: unknown[] = [];
      const leakyFetch: typeof fetch = async (_url, init) => {
        const auth = new Headers(init?.headers).get("authorization");
        throw new TypeError("fetch failed", { cause: new Error(`socket hang up (sent ${auth})`) });
      };
      const c = new EventClient({ url: server.url, apiKey, fetch: leakyFetch, maxRetries: 1, ...FAST, hooks: { retry: (i) => seen.push(i), flush: (i) => seen.push(i), drop: (i) => seen.push(i) } });
      const outcome = await c.send("a.b", { n: 1 });
      await c.close();
      let optionError = "";
      try {
        new EventClient({ url: "ftp://nowhere", apiKey });
      } catch (error) {
        optionError = String(error);
      }
      const observable = [inspect(c, { showHidden: true, depth: 5 }), JSON.stringify(c), JSON.stringify(c.stats()), JSON.stringify(seen), JSON.stringify(outcome), optionError].join("\n");
      expect(outcome).to.include({ status: "failed", reason: "retries_exhausted" });
      expect(observable).to.include("[redacted]");
      expect(observable).not.to.include(apiKey);
    });
  });

  describe("input", () => {
    it("throws a TypeError at once for a payload that is not a JSON object or cannot be serialized", () => {
      const c = client();
      expect(() => c.send("a.b", [] as never)).to.throw(TypeError, /JSON object/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(() => c.send("a.b", cyclic)).to.throw(TypeError, /not JSON-serializable/);
      expect(() => c.send("a.b", { n: 1 }, { idempotencyKey: "é" })).to.throw(TypeError, /printable ASCII/);
    });

    it("checks options in the constructor with a message naming the option", () => {
      expect(() => new EventClient({ url: "not a url", apiKey: "k" })).to.throw(/url must be an absolute http\(s\) URL/);
      expect(() => new EventClient({ url: server.url, apiKey: "" })).to.throw(/apiKey/);
      expect(() => new EventClient({ url: server.url, apiKey: "k", maxBatchSize: 101 })).to.throw(/maxBatchSize must be an integer from 1 to 100/);
      expect(() => new EventClient({ url: server.url, apiKey: "k", overflow: "drop-newest" as never })).to.throw(/overflow/);
    });

    it("sends metadata and occurredAt as the API's metadata and occurred_at", async () => {
      await client().send("a.b", { n: 1 }, { metadata: { tenant: "acme", n: 2, ok: true }, occurredAt: new Date("2026-01-02T03:04:05Z") });
      const [stored] = [...server.stored.values()];
      expect(stored!.item).to.deep.equal({ event_type: "a.b", payload: { n: 1 }, metadata: { tenant: "acme", n: 2, ok: true }, occurred_at: "2026-01-02T03:04:05.000Z" });
    });

    it("is typed per event type when given an event map", () => {
      type Events = { "order.created": { order_id: string; total: number } };
      const typed = new EventClient<Events>({ url: server.url, apiKey: server.apiKey, ...FAST });
      clients.push(typed as unknown as EventClient);
      // Compile-time checks (tsc -p . runs over this file); the sends themselves are not awaited here.
      void typed.send("order.created", { order_id: "o-1", total: 42 });
      // @ts-expect-error a wrong field type is a compile error
      void typed.send("order.created", { order_id: "o-1", total: "42" });
      // @ts-expect-error an unknown field is a compile error
      void typed.send("order.created", { order_id: "o-1", total: 42, extra: true });
      // @ts-expect-error an event type outside the map is a compile error
      void typed.send("order.deleted", { order_id: "o-1" });
    });
  });

  it("imports nothing but its own modules: no dependency, no Node built-in (so it runs in edge runtimes)", () => {
    const src = path.resolve(__dirname, "../../client/src");
    const specifiers = fs.readdirSync(src).flatMap((file) => [...fs.readFileSync(path.join(src, file), "utf8").matchAll(/^(?:import|export)[^;]*? from "([^"]+)"/gm)].map((m) => m[1]!));
    expect(specifiers.length).to.be.greaterThan(5);
    expect(specifiers.filter((s) => !/^\.\/[a-zA-Z]+\.js$/.test(s))).to.deep.equal([]);
  });

  it("batches within the server's limits (handlers/lib/primitives/limits.ts)", () => {
    expect(SERVER_LIMITS).to.deep.equal({ batchMaxEvents: LIMITS.batchMaxEvents, batchMaxBytes: LIMITS.batchMaxBytes, idempotencyKeyMaxLength: LIMITS.idempotencyKeyMaxLength });
  });
});
