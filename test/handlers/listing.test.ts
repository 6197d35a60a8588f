/**
 * Issue 16, finding 2: the listing merge never drops a buffered match, and one request costs a
 * bounded number of Query calls and read units (ADR 0022). Counted by a proxy in front of
 * dynalite, so the count does not come from the code under test. Finding 5: reads do not return
 * idempotency_key. Each test failed before the fix.
 */
import { expect } from "chai";
import fc from "fast-check";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { EventLister } from "../../handlers/lib/store/listing";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { buildEventRecord, type EventRecord } from "../../handlers/lib/events/record";
import { createDocumentClient } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { newEventId } from "../../handlers/lib/primitives/ids";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamoProxy";
import { httpEvent } from "../support/events";
import { jsonBody } from "../support/http";

const SHARDS = 8;
const T0 = Date.UTC(2026, 0, 1);

interface Page {
  items: { event_id: string; event_type: string; idempotency_key?: string }[];
  next_cursor: string | null;
}

describe("listing merge and per-request budget (issue 16)", function () {
  this.timeout(120_000); // seeding ~3,500 events on a shared machine
  const suite = useDynalite();
  let proxy: DynamoProxy;
  before(async () => {
    proxy = await startDynamoProxy(suite.dynamo.endpoint, () => "forward");
  });
  after(async () => proxy?.close());

  /** `count` events, event i created at T0 + i ms with type `typeOf(i)`, written straight to the table. */
  async function seeded(count: number, typeOf: (i: number) => string, noteBytes = 400) {
    const table = await suite.freshTable(EVENTS_TABLE, "listing");
    const records: EventRecord[] = [];
    for (let i = 0; i < count; i++) {
      const eventId = newEventId(T0 + i);
      records.push(
        buildEventRecord({ event_type: typeOf(i), payload: { i, note: "x".repeat(noteBytes) } }, { eventId, nowMs: T0 + i, receivedAtMs: T0 + i, requestId: `r${i}`, source: { api_key_id: "0123456789abcdef" }, statusIndexShards: SHARDS }),
      );
    }
    for (let at = 0; at < records.length; at += 25) {
      const chunk = records.slice(at, at + 25).map((Item) => ({ PutRequest: { Item } }));
      await suite.dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [table]: chunk } }));
    }
    const doc = createDocumentClient({ endpoint: proxy.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
    const read = createReadHandler({ doc, eventsTable: table, statusIndexShards: SHARDS });
    const list = async (query: Record<string, string>) => {
      const queriesBefore = proxy.count("Query");
      const event = httpEvent({ routeKey: "GET /events", headers: { "content-type": undefined } });
      event.queryStringParameters = query;
      const response = await read(event);
      expect(response.statusCode, response.body).to.equal(200);
      return { page: jsonBody<Page>(response), queries: proxy.count("Query") - queriesBefore };
    };
    return { records, list, table, doc, close: () => doc.destroy() };
  }

  it("returns the newest match on the first request even when every other shard's pages are filtered out (limit 1)", async () => {
    const { records, list, close } = await seeded(400, (i) => (i === 399 ? "wanted" : "noise"));
    const { page } = await list({ status: "pending", event_type: "wanted", limit: "1" });
    expect(page.items.map((i) => i.event_id)).to.deep.equal([records[399]!.event_id]);
    close();
  });

  it("on ~3,500 events, answers a filter that matches nothing within the Query and read-unit budget, with a cursor, and the cursors end", async () => {
    const { list, close } = await seeded(3500, () => "noise");
    let cursor: string | undefined;
    let requests = 0;
    do {
      const { page, queries } = await list({ status: "pending", event_type: "none", limit: "100", ...(cursor ? { cursor } : {}) });
      expect(page.items).to.deep.equal([]);
      expect(queries).to.be.at.most(LIMITS.listMaxQueries);
      const line = suite.logs.withMessage("request").at(-1)!;
      expect(line.queries).to.equal(queries);
      // Read units: the budget, plus at most one round of SHARDS Queries of 25 items of ~0.6 KB (2 units each).
      expect(line.read_units as number).to.be.at.most(LIMITS.listMaxReadUnits + SHARDS * 2);
      cursor = page.next_cursor ?? undefined;
      requests++;
    } while (cursor && requests < 50);
    expect(cursor).to.equal(undefined);
    expect(requests).to.be.within(2, 10);
    close();
  });

  it("stops at the read-unit budget on its own: with ~1.2 KB items a Query costs ~4.5 units, so the budget (64) ends the request after about two rounds, below the Query cap", async () => {
    const { list, table, doc, close } = await seeded(800, () => "noise", 1_200);
    const lister = new EventLister(doc, table, SHARDS);
    const queriesBefore = proxy.count("Query");
    const page = await lister.list({ statuses: ["pending"], eventType: "none", limit: 100, order: "newest" });
    const queries = proxy.count("Query") - queriesBefore;
    expect(page.items).to.deep.equal([]);
    expect(page.budgetReached).to.equal(true);
    expect(page.nextCursor).to.be.a("string");
    expect(queries).to.equal(page.queries);
    // More than the first round (which always runs), and the Query cap (32) did not bind.
    expect(queries).to.be.above(SHARDS).and.below(LIMITS.listMaxQueries);
    const perQuery = page.readUnits / queries;
    expect(perQuery).to.be.within(3, 6);
    // The budget ended it: within one Query's cost of 64, never a round beyond it.
    expect(page.readUnits).to.be.at.least(LIMITS.listMaxReadUnits - perQuery).and.at.most(LIMITS.listMaxReadUnits + perQuery);
    // Through the route the same budget holds.
    const { queries: viaRoute } = await list({ status: "pending", event_type: "none", limit: "100" });
    expect(viaRoute).to.equal(queries);
    close();
  });

  it("on ~3,500 events, returns the newest match on the first request and every match exactly once, newest first, across pages", async () => {
    const { records, list, close } = await seeded(3500, (i) => (i % 97 === 5 ? "wanted" : "noise"));
    const wanted = records.filter((r) => r.event_type === "wanted").map((r) => r.event_id).reverse();
    const first = await list({ status: "pending", event_type: "wanted", limit: "1" });
    expect(first.page.items.map((i) => i.event_id)).to.deep.equal(wanted.slice(0, 1));
    const seen: string[] = [...first.page.items.map((i) => i.event_id)];
    let cursor = first.page.next_cursor ?? undefined;
    for (let requests = 0; cursor && requests < 200; requests++) {
      const { page } = await list({ status: "pending", event_type: "wanted", limit: "7", cursor });
      seen.push(...page.items.map((i) => i.event_id));
      cursor = page.next_cursor ?? undefined;
    }
    expect(seen).to.deep.equal(wanted);
    close();
  });

  it("pages an unfiltered listing of 600 events over every status newest first without a gap or a repeat", async () => {
    const { records, list, close } = await seeded(600, () => "noise");
    const expected = records.map((r) => r.event_id).reverse();
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let requests = 0; requests < 20; requests++) {
      const { page, queries } = await list({ limit: "100", ...(cursor ? { cursor } : {}) });
      expect(queries).to.be.at.most(Math.max(LIMITS.listMaxQueries, 4 * SHARDS));
      seen.push(...page.items.map((i) => i.event_id));
      cursor = page.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen).to.deep.equal(expected);
    close();
  });

  it("hands out every matching event exactly once, in created_at order, for random shards, types, ties, limits and budgets down to one Query", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          shards: fc.integer({ min: 1, max: 8 }),
          events: fc.array(fc.record({ ms: fc.integer({ min: 0, max: 40 }), type: fc.constantFrom("a", "b", "c") }), { maxLength: 60 }),
          filter: fc.option(fc.constantFrom("a", "b", "z"), { nil: undefined }),
          limit: fc.integer({ min: 1, max: 12 }),
          order: fc.constantFrom("newest" as const, "oldest" as const),
          budget: fc.record({ maxQueries: fc.integer({ min: 1, max: 40 }), maxReadUnits: fc.integer({ min: 0, max: 8 }) }),
        }),
        async ({ shards, events, filter, limit, order, budget }) => {
          const table = await suite.freshTable(EVENTS_TABLE, "listing-prop");
          const records = events.map((e, i) =>
            buildEventRecord({ event_type: e.type, payload: { i } }, { eventId: newEventId(T0 + e.ms), nowMs: T0 + e.ms, receivedAtMs: T0, requestId: `r${i}`, source: { api_key_id: "0123456789abcdef" }, statusIndexShards: shards }),
          );
          for (let at = 0; at < records.length; at += 25) {
            await suite.dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [table]: records.slice(at, at + 25).map((Item) => ({ PutRequest: { Item } })) } }));
          }
          const lister = new EventLister(suite.dynamo.doc, table, shards, budget);
          const seen: EventRecord[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await lister.list({ statuses: ["pending"], ...(filter ? { eventType: filter } : {}), limit, order, ...(cursor ? { cursor } : {}) });
            expect(page.items.length).to.be.at.most(limit);
            seen.push(...page.items);
            cursor = page.nextCursor ?? undefined;
          } while (cursor && ++pages < 500);
          expect(cursor, "the cursor chain ends").to.equal(undefined);
          const expected = records.filter((r) => filter === undefined || r.event_type === filter);
          expect(seen.map((r) => r.event_id).sort()).to.deep.equal(expected.map((r) => r.event_id).sort());
          for (let i = 1; i < seen.length; i++) {
            const [a, b] = [seen[i - 1]!.created_at, seen[i]!.created_at];
            expect(order === "newest" ? a >= b : a <= b, `${a} then ${b}`).to.equal(true);
          }
        },
      ),
      { numRuns: 40, seed: Number(process.env.FUZZ_SEED ?? 16) },
    );
  });

  it("answers 400 invalid_query naming event_type when event_type comes without status", async () => {
    const table = await suite.freshTable(EVENTS_TABLE, "listing");
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS });
    const event = httpEvent({ routeKey: "GET /events", headers: { "content-type": undefined } });
    event.queryStringParameters = { event_type: "order.created" };
    const response = await read(event);
    expect(response.statusCode).to.equal(400);
    const body = jsonBody<{ code: string; errors: { parameter: string }[] }>(response);
    expect(body.code).to.equal("invalid_query");
    expect(body.errors[0]!.parameter).to.equal("event_type");
  });

  it("does not return idempotency_key (often personal data) from GET /events or GET /events/{id}, and still stores it", async () => {
    const table = await suite.freshTable(EVENTS_TABLE, "listing");
    const eventId = newEventId(T0);
    const record = buildEventRecord(
      { event_type: "order.created", payload: {} },
      { eventId, nowMs: T0, receivedAtMs: T0, requestId: "r", source: { api_key_id: "0123456789abcdef" }, statusIndexShards: SHARDS, idempotencyKey: "order-4711-customer-jane@example.com" },
    );
    await suite.dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [table]: [{ PutRequest: { Item: record } }] } }));
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS });
    const listEvent = httpEvent({ routeKey: "GET /events", headers: { "content-type": undefined } });
    const getEvent = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
    getEvent.pathParameters = { event_id: eventId };
    for (const response of [await read(listEvent), await read(getEvent)]) {
      expect(response.statusCode).to.equal(200);
      expect(response.body).to.include(eventId).and.not.include("jane@example.com").and.not.include("idempotency_key");
    }
    expect((await suite.dynamo.scanAll(table))[0]).to.include({ idempotency_key: "order-4711-customer-jane@example.com" });
  });
});
