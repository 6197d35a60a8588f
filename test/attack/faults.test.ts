/**
 * Injected storage faults. dynalite never throttles, times out or loses a response, so the handlers
 * reach it through a proxy that does (test/support/dynamoProxy.ts), with the very client settings
 * the Lambda functions use (DYNAMODB_CLIENT_DEFAULTS: 3 attempts, 0.5 s connect and 1.5 s request
 * timeouts). The promise under test: a fault is a 503 + Retry-After the client can retry, answered
 * inside the function timeout, and nothing accepted is lost, altered or stored twice.
 */
import { expect } from "chai";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import type { Response } from "../../handlers/lib/http/http";
import { RETRY_AFTER_SECONDS } from "../../handlers/lib/primitives/limits";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { createDocumentClient, DYNAMODB_CLIENT_DEFAULTS, EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { HANDLERS } from "../../handlers/routes";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { startDynamoProxy, type DynamoProxy, type ProxiedRequest, type ProxyAction } from "../support/dynamoProxy";
import { httpEvent, postEvent } from "../support/events";
import { expectProblem, jsonBody } from "../support/http";

const FUNCTION_TIMEOUT_MS = HANDLERS.ingest.timeoutSeconds * 1000;
const CONFIG = { statusIndexShards: 4, maxEventBytes: 65_536 } as const;

interface Acceptance {
  event_id: string;
  status: string;
  created_at: string;
  duplicate?: boolean;
}

interface BatchBody {
  stored: number;
  duplicates: number;
  rejected: number;
  results: { index: number; status: number; event_id?: string; duplicate?: boolean; error?: { code: string; detail?: string } }[];
}

/** Runs `work` and fails the test, instead of hanging it, if it outlives the function timeout. */
async function withinFunctionTimeout<T>(work: Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within the ${FUNCTION_TIMEOUT_MS} ms function timeout: Lambda would be killed and API Gateway would answer 500`)), FUNCTION_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([work, deadline]);
    return { result, elapsedMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe("storage faults (handlers → fault-injecting proxy → dynalite)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A fresh table, a proxy in front of dynalite with `decide`, and the ingest, read and ack handlers
   * whose DynamoDB client goes through that proxy with the production client defaults.
   */
  async function faulty(decide: (request: ProxiedRequest) => ProxyAction | Promise<ProxyAction>) {
    const table = await suite.freshTable(EVENTS_TABLE, "faults");
    const proxy: DynamoProxy = await startDynamoProxy(suite.dynamo.endpoint, decide);
    const doc: DynamoDBDocumentClient = createDocumentClient({ endpoint: proxy.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
    cleanups.push(() => proxy.close(), () => doc.destroy());
    const deps = { eventsTable: table, statusIndexShards: CONFIG.statusIndexShards };
    return {
      table,
      proxy,
      ingest: createIngestHandler({ repository: new EventRepository(doc, table), config: { ...deps, maxEventBytes: CONFIG.maxEventBytes } }),
      /** The same handler straight on dynalite: the client's retry once the fault has passed. */
      healthyIngest: createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config: { ...deps, maxEventBytes: CONFIG.maxEventBytes } }),
      read: createReadHandler({ doc, ...deps }),
      ack: createAckHandler({ doc, ...deps }),
      items: () => suite.dynamo.scanAll(table),
    };
  }

  const body = { event_type: "order.created", payload: { order_id: "o-1", total: 42 } };

  function expectRetryable503(response: Response, event: ReturnType<typeof postEvent>) {
    const problem = expectProblem(response, event, 503, "storage_unavailable");
    expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
    return problem;
  }

  describe("POST /events", () => {
    for (const action of ["throttle", "server-error"] as const) {
      it(`answers 503 + Retry-After inside the function timeout when every attempt gets ${action === "throttle" ? "ProvisionedThroughputExceededException" : "a 500 InternalServerError"}, and stores nothing`, async () => {
        const f = await faulty((r) => (r.operation === "PutItem" ? action : "forward"));
        const event = postEvent(body);
        const { result, elapsedMs } = await withinFunctionTimeout(f.ingest(event));
        const problem = expectRetryable503(result, event);
        if (action === "throttle") expect(problem.detail).to.match(/nothing was stored/i);
        expect(f.proxy.count("PutItem")).to.equal(DYNAMODB_CLIENT_DEFAULTS.maxAttempts);
        expect(elapsedMs).to.be.below(FUNCTION_TIMEOUT_MS);
        expect(await f.items()).to.deep.equal([]);
      });
    }

    it("stores exactly one item and answers 201 when two attempts are throttled and the third gets through", async () => {
      let throttled = 0;
      const f = await faulty((r) => (r.operation === "PutItem" && throttled++ < 2 ? "throttle" : "forward"));
      const response = await f.ingest(postEvent(body));
      expect(response.statusCode, response.body).to.equal(201);
      expect(jsonBody<Acceptance>(response)).not.to.have.property("duplicate");
      expect(f.proxy.count("PutItem", "throttle")).to.equal(2);
      expect(f.proxy.count("PutItem", "forward")).to.equal(1);
      const items = await f.items();
      expect(items).to.have.length(1);
      expect(items[0]).to.include({ event_id: jsonBody<Acceptance>(response).event_id, event_type: body.event_type });
      expect(items[0]!.payload).to.deep.equal(body.payload);
    });

    it("answers 503 + Retry-After inside the function timeout when DynamoDB accepts the connection but never answers, and stores nothing", async () => {
      const f = await faulty((r) => (r.operation === "PutItem" ? "hang" : "forward"));
      const event = postEvent(body);
      const { result, elapsedMs } = await withinFunctionTimeout(f.ingest(event));
      expectRetryable503(result, event);
      expect(f.proxy.count("PutItem", "hang")).to.equal(DYNAMODB_CLIENT_DEFAULTS.maxAttempts);
      expect(elapsedMs).to.be.below(FUNCTION_TIMEOUT_MS);
      expect(suite.logs.withMessage("request")[0]).to.include({ status: 503, error: "TimeoutError" });
      expect(await f.items()).to.deep.equal([]);
    });

    it("answers 201, not duplicate, when its first attempt was stored but the answer was lost and the SDK's retry meets its own write", async () => {
      let lost = false;
      const f = await faulty((r) => (r.operation === "PutItem" && !lost ? ((lost = true), "lose-response") : "forward"));
      const response = await f.ingest(postEvent(body));
      expect(response.statusCode, response.body).to.equal(201);
      expect(jsonBody<Acceptance>(response)).not.to.have.property("duplicate");
      expect(f.proxy.count("PutItem")).to.equal(2);
      const items = await f.items();
      expect(items).to.have.length(1);
      expect(items[0]!.event_id).to.equal(jsonBody<Acceptance>(response).event_id);
    });

    for (const [competitor, expected] of [
      ["the same body", { status: 200, duplicate: true }],
      ["a different body", { status: 422 }],
    ] as const) {
      it(`answers ${expected.status}, not 201, when its first attempt is throttled and another request with the same Idempotency-Key and ${competitor} is stored before the SDK's retry`, async () => {
        const headers = { "idempotency-key": `raced-${expected.status}` };
        const otherBody = competitor === "the same body" ? body : { ...body, payload: { order_id: "o-2" } };
        let puts = 0;
        let otherAnswer: Response | undefined;
        const f = await faulty(async (r) => {
          if (r.operation !== "PutItem") return "forward";
          if (++puts === 1) return "throttle";
          // The retry waits on the wire until the other request's event is stored.
          if (puts === 2) otherAnswer = await f.healthyIngest(postEvent(otherBody, { headers, requestId: "req-the-other-one" }));
          return "forward";
        });
        const response = await f.ingest(postEvent(body, { headers }));
        expect(otherAnswer!.statusCode, otherAnswer!.body).to.equal(201);
        expect(f.proxy.count("PutItem")).to.equal(2);
        expect(response.statusCode, response.body).to.equal(expected.status);
        const items = await f.items();
        expect(items).to.have.length(1);
        expect(items[0]).to.include({ request_id: "req-the-other-one" });
        if (expected.status === 200) expect(jsonBody<Acceptance>(response)).to.include({ event_id: items[0]!.event_id, duplicate: true });
      });
    }

    it("after a timeout whose write was in fact stored, a retry with the same Idempotency-Key answers 200 duplicate and exactly one item exists", async () => {
      const f = await faulty((r) => (r.operation === "PutItem" ? "lose-response" : "forward"));
      const headers = { "idempotency-key": "retry-after-timeout" };
      const first = postEvent(body, { headers });
      const { result, elapsedMs } = await withinFunctionTimeout(f.ingest(first));
      const problem = expectRetryable503(result, first);
      expect(elapsedMs).to.be.below(FUNCTION_TIMEOUT_MS);
      // The write did happen, so the answer must not claim otherwise; it tells the client how to retry.
      expect(problem.detail).not.to.match(/nothing was stored/i);
      expect(problem.detail).to.include("Idempotency-Key");
      const [stored] = await f.items();
      expect(stored).to.include({ idempotency_key: headers["idempotency-key"] });

      const retry = await f.healthyIngest(postEvent(body, { headers }));
      expect(retry.statusCode, retry.body).to.equal(200);
      expect(jsonBody<Acceptance>(retry)).to.include({ event_id: stored!.event_id, created_at: stored!.created_at, duplicate: true });
      expect(await f.items()).to.deep.equal([stored]);
    });

    it("answers 503 when the read that settles an idempotent repeat is throttled, and leaves the stored event unchanged", async () => {
      const f = await faulty((r) => (r.operation === "GetItem" ? "throttle" : "forward"));
      const headers = { "idempotency-key": "repeat-under-throttling" };
      expect((await f.healthyIngest(postEvent(body, { headers }))).statusCode).to.equal(201);
      const before = await f.items();
      const repeat = postEvent(body, { headers });
      expectRetryable503(await f.ingest(repeat), repeat);
      expect(f.proxy.count("GetItem", "throttle")).to.equal(DYNAMODB_CLIENT_DEFAULTS.maxAttempts);
      expect(await f.items()).to.deep.equal(before);
    });
  });

  describe("POST /events/batch", () => {
    it("reports each item's own status when some items fail, and every item's final state matches its status: nothing dropped, nothing stored twice", async () => {
      // Items carry their fate in the payload; the proxy reads it from the PutItem request.
      let lostOnce = false;
      const f = await faulty((r) => {
        if (r.operation !== "PutItem") return "forward";
        if (r.body.includes('"fate":{"S":"throttled"}')) return "throttle";
        if (r.body.includes('"fate":{"S":"answer-lost-once"}') && !lostOnce) return (lostOnce = true), "lose-response";
        return "forward";
      });
      const item = (n: number, fate: string, extra: Record<string, unknown> = {}) => ({
        event_type: "batch.fault",
        payload: { n, fate },
        idempotency_key: `batch-fault-${n}`,
        ...extra,
      });
      // n = 5 exists already, so the batch must answer it as a duplicate.
      const existing = item(5, "ok");
      const seeded = await f.healthyIngest(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [existing] }) }));
      expect(seeded.statusCode, seeded.body).to.equal(200);

      const events = [
        item(0, "ok"),
        item(1, "throttled"),
        item(2, "ok"),
        item(3, "answer-lost-once"),
        item(4, "invalid", { status: "delivered" }),
        existing,
        item(6, "throttled"),
        item(7, "ok"),
      ];
      const expected = [201, 503, 201, 201, 400, 200, 503, 201];
      const batch = () => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });
      const response = await f.ingest(batch());
      expect(response.statusCode, response.body).to.equal(207);
      expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.index)).to.deep.equal(events.map((_, i) => i));
      expect(result.results.map((r) => r.status)).to.deep.equal(expected);
      expect(result).to.include({ stored: 4, duplicates: 1, rejected: 3 });

      // Every item's final state is what its status says: stored once as sent, or absent.
      const stored = await f.items();
      const byN = new Map(stored.map((s) => [(s.payload as { n: number }).n, s]));
      expect(stored).to.have.length(byN.size);
      result.results.forEach((r, i) => {
        const sent = events[i]!;
        if (r.status === 201 || r.status === 200) {
          const s = byN.get(sent.payload.n);
          expect(s, `item ${i}`).to.not.equal(undefined);
          expect(s).to.include({ event_id: r.event_id, event_type: sent.event_type, idempotency_key: sent.idempotency_key });
          expect(s!.payload).to.deep.equal(sent.payload);
        } else {
          expect(byN.has(sent.payload.n), `item ${i} (status ${r.status}) must not be stored`).to.equal(false);
        }
      });

      // The client retries the whole batch once the fault is gone: the 503s are stored, the rest are duplicates.
      const retry = jsonBody<BatchBody>(await f.healthyIngest(batch()));
      expect(retry.results.map((r) => r.status)).to.deep.equal([200, 201, 200, 200, 400, 200, 201, 200]);
      const final = await f.items();
      expect(final).to.have.length(7);
      expect(new Set(final.map((s) => s.event_id)).size).to.equal(7);
    });
  });

  describe("POST /events/batch without idempotency keys (BatchWriteItem, 25 per call)", () => {
    const fresh = (n: number) => ({ event_type: "batch.fresh", payload: { n } });
    const batchOf = (events: unknown[]) => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });

    /** Every stored item is one of `events`, stored once, with the id its 201 named; the rest are absent. */
    async function expectStoredExactlyAsAnswered(f: Awaited<ReturnType<typeof faulty>>, events: { payload: { n: number } }[], result: BatchBody) {
      const stored = await f.items();
      const byN = new Map(stored.map((s) => [(s.payload as { n: number }).n, s]));
      expect(stored, "no event stored twice").to.have.length(byN.size);
      result.results.forEach((r, i) => {
        const item = byN.get(events[i]!.payload.n);
        if (r.status === 201) expect(item?.event_id, `item ${i}`).to.equal(r.event_id);
        else expect(item, `item ${i} (status ${r.status}) must not be stored`).to.equal(undefined);
      });
    }

    it("writes 60 keyless items with three BatchWriteItem calls and no PutItem, and answers 201 for each in order", async () => {
      const f = await faulty(() => "forward");
      const events = Array.from({ length: 60 }, (_, n) => fresh(n));
      const response = await f.ingest(batchOf(events));
      expect(response.statusCode, response.body).to.equal(200);
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal(events.map(() => 201));
      expect(f.proxy.count("BatchWriteItem")).to.equal(3);
      expect(f.proxy.count("PutItem")).to.equal(0);
      await expectStoredExactlyAsAnswered(f, events, result);
    });

    it("keeps the conditional put for keyed items in a mixed batch, with every result in its place", async () => {
      const f = await faulty(() => "forward");
      const keyed = (n: number) => ({ ...fresh(n), idempotency_key: `mixed-${n}` });
      const events = [fresh(0), keyed(1), { event_type: "bad type!", payload: {} }, fresh(3), keyed(4), keyed(1)];
      const response = await f.ingest(batchOf(events));
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect([0, 2, 3, 4].map((i) => result.results[i]!.status)).to.deep.equal([201, 400, 201, 201]);
      // The same key twice in one batch: one conditional put wins (201), the other is its duplicate (200).
      expect([result.results[1]!.status, result.results[5]!.status].sort()).to.deep.equal([200, 201]);
      expect(f.proxy.count("PutItem")).to.equal(3);
      expect(f.proxy.count("BatchWriteItem")).to.equal(1);
      expect(await f.items()).to.have.length(4);
    });

    it("retries the items DynamoDB leaves unprocessed until they are written: all 201, each stored once", async () => {
      let calls = 0;
      const f = await faulty((r) => (r.operation === "BatchWriteItem" && calls++ < 2 ? "unprocess-half" : "forward"));
      const events = Array.from({ length: 30 }, (_, n) => fresh(n));
      const response = await f.ingest(batchOf(events));
      expect(response.statusCode, response.body).to.equal(200);
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal(events.map(() => 201));
      expect(f.proxy.count("BatchWriteItem", "unprocess-half")).to.equal(2);
      expect(f.proxy.count("BatchWriteItem")).to.be.greaterThan(2); // the retries of the unprocessed halves
      await expectStoredExactlyAsAnswered(f, events, result);
      expect(await f.items()).to.have.length(30);
    });

    it("answers 503 'Not stored' + Retry-After for items still unprocessed when the retry budget is spent, inside the function timeout, and stores only the 201s", async () => {
      const f = await faulty((r) => (r.operation === "BatchWriteItem" ? "unprocess-half" : "forward"));
      const events = Array.from({ length: 8 }, (_, n) => fresh(n));
      const { result: response, elapsedMs } = await withinFunctionTimeout(f.ingest(batchOf(events)));
      expect(response.statusCode, response.body).to.equal(207);
      expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
      const result = jsonBody<BatchBody>(response);
      // Each call writes the first half of what is left: 4, 2, 1, then the last item never gets through.
      expect(result.results.map((r) => r.status)).to.deep.equal([201, 201, 201, 201, 201, 201, 201, 503]);
      expect(result.results[7]!.error).to.include({ code: "storage_unavailable" });
      expect(result.results[7]!.error!.detail).to.match(/^Not stored\. Retry this item after/);
      expect(elapsedMs).to.be.below(FUNCTION_TIMEOUT_MS);
      expect(suite.logs.withMessage("request")[0]).to.include({ status: 207, error: "UnprocessedItems" });
      await expectStoredExactlyAsAnswered(f, events, result);
    });

    it("answers 503 'Not stored' for every keyless item when each attempt of the whole call is throttled, while keyed items are stored", async () => {
      const f = await faulty((r) => (r.operation === "BatchWriteItem" ? "throttle" : "forward"));
      const events = [fresh(0), { ...fresh(1), idempotency_key: "throttle-1" }, fresh(2)];
      const { result: response } = await withinFunctionTimeout(f.ingest(batchOf(events)));
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal([503, 201, 503]);
      for (const i of [0, 2]) expect(result.results[i]!.error!.detail).to.match(/^Not stored\./);
      expect(f.proxy.count("BatchWriteItem")).to.equal(DYNAMODB_CLIENT_DEFAULTS.maxAttempts);
      await expectStoredExactlyAsAnswered(f, events, result);
      expect(await f.items()).to.have.length(1);
    });

    it("answers 201 once and stores each item once when the first call's answer is lost and the SDK's retry rewrites the same bytes", async () => {
      let lost = false;
      const f = await faulty((r) => (r.operation === "BatchWriteItem" && !lost ? ((lost = true), "lose-response") : "forward"));
      const events = Array.from({ length: 5 }, (_, n) => fresh(n));
      const response = await f.ingest(batchOf(events));
      expect(response.statusCode, response.body).to.equal(200);
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal([201, 201, 201, 201, 201]);
      expect(f.proxy.count("BatchWriteItem")).to.equal(2);
      await expectStoredExactlyAsAnswered(f, events, result);
      expect(await f.items()).to.have.length(5);
    });

    it("says 'may or may not be stored' when no attempt is answered, and then an item is stored at most once", async () => {
      const f = await faulty((r) => (r.operation === "BatchWriteItem" ? "lose-response" : "forward"));
      const events = Array.from({ length: 3 }, (_, n) => fresh(n));
      const { result: response, elapsedMs } = await withinFunctionTimeout(f.ingest(batchOf(events)));
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal([503, 503, 503]);
      for (const r of result.results) expect(r.error!.detail).to.match(/may or may not be stored/);
      expect(elapsedMs).to.be.below(FUNCTION_TIMEOUT_MS);
      // dynalite applied every attempt; the same ids and bytes each time, so one item per event.
      const stored = await f.items();
      expect(stored).to.have.length(3);
      expect(new Set(stored.map((s) => (s.payload as { n: number }).n))).to.deep.equal(new Set([0, 1, 2]));
    });

    it("says 'may or may not be stored' for an item left unprocessed after an unconfirmed attempt, because that attempt may have written it", async () => {
      let calls = 0;
      const f = await faulty((r) => (r.operation !== "BatchWriteItem" ? "forward" : calls++ === 0 ? "lose-response" : "unprocess-all"));
      const events = [fresh(0), fresh(1)];
      const { result: response } = await withinFunctionTimeout(f.ingest(batchOf(events)));
      const result = jsonBody<BatchBody>(response);
      expect(result.results.map((r) => r.status)).to.deep.equal([503, 503]);
      for (const r of result.results) expect(r.error!.detail).to.match(/may or may not be stored/);
      expect(await f.items(), "the lost first attempt did write both").to.have.length(2);
    });
  });

  describe("GET /events/{event_id} and POST /events/{event_id}/ack", () => {
    it("answer 503 + Retry-After when storage fails every attempt, and the ack changes nothing", async () => {
      const f = await faulty((r) => (r.operation === "GetItem" || r.operation === "UpdateItem" ? "server-error" : "forward"));
      const created = await f.healthyIngest(postEvent(body));
      const eventId = jsonBody<Acceptance>(created).event_id;
      const before = await f.items();

      const get = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
      get.pathParameters = { event_id: eventId };
      expectRetryable503(await f.read(get), get);

      const ack = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
      ack.pathParameters = { event_id: eventId };
      expectRetryable503(await f.ack(ack), ack);
      expect(await f.items()).to.deep.equal(before);
    });
  });

  it("gives up on an unanswered DynamoDB request after the configured request timeout (the SDK only warns unless told to throw)", async () => {
    // Without throwOnRequestTimeout, @smithy/node-http-handler logs a warning at requestTimeout and
    // keeps waiting, so a hung connection would outlive the function.
    const { requestTimeout } = DYNAMODB_CLIENT_DEFAULTS.requestHandler as { requestTimeout: number };
    const proxy = await startDynamoProxy(suite.dynamo.endpoint, () => "hang");
    const doc = createDocumentClient({ endpoint: proxy.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    cleanups.push(() => proxy.close(), () => doc.destroy());
    const attempt = doc.send(new GetCommand({ TableName: "any", Key: { event_id: "x" } })).then(
      () => new Error("answered"),
      (e: Error) => e,
    );
    const { result: error, elapsedMs } = await withinFunctionTimeout(attempt);
    expect(error.name).to.equal("TimeoutError");
    expect(elapsedMs).to.be.within(requestTimeout - 50, requestTimeout * 2);
  });
});
