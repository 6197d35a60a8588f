/**
 * Races against dynalite: many requests for the same event at once. Idempotency and acks rest on
 * conditional writes, so however the requests interleave, one event is stored once and counted once.
 * (Five racing posts and twenty racing acks are in test/handlers; these push the numbers and mix
 * the operations.)
 */
import { expect } from "chai";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import type { Response } from "../../handlers/lib/http/http";
import { EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { useDynalite } from "../support/dynalite";
import { httpEvent, postEvent, TIME_EPOCH } from "../support/events";
import { expectProblem, jsonBody } from "../support/http";

interface Acceptance {
  event_id: string;
  status: string;
  created_at: string;
  duplicate?: boolean;
}

interface BatchBody {
  stored: number;
  duplicates: number;
  results: { index: number; status: number; event_id?: string; duplicate?: boolean }[];
}

const statuses = (responses: Response[]) => responses.map((r) => r.statusCode);
const count = (values: number[], status: number) => values.filter((s) => s === status).length;

describe("concurrency (handlers against dynalite)", () => {
  const suite = useDynalite();

  /** A fresh table with the ingest and ack handlers over it; every request sees the same millisecond. */
  async function handlers() {
    const table = await suite.freshTable(EVENTS_TABLE, "race");
    const config = { eventsTable: table, statusIndexShards: 4, maxEventBytes: 65_536 };
    const now = () => TIME_EPOCH;
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config, now });
    const ack = createAckHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: 4, now });
    const ackEvent = (eventId: string) => {
      const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
      event.pathParameters = { event_id: eventId };
      return ack(event);
    };
    const batch = (events: unknown[]) => ingest(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) }));
    return { ingest, ackEvent, batch, items: () => suite.dynamo.scanAll(table) };
  }

  const body = { event_type: "payment.captured", payload: { payment_id: "pay_1", amount: 1999 } };

  it("stores one event for 50 concurrent POSTs with the same Idempotency-Key: one 201, 49 × 200 duplicate, all naming that event", async () => {
    const h = await handlers();
    const headers = { "idempotency-key": "fifty-at-once" };
    const responses = await Promise.all(Array.from({ length: 50 }, () => h.ingest(postEvent(body, { headers }))));

    expect(count(statuses(responses), 201), responses.map((r) => r.body).join("\n")).to.equal(1);
    expect(count(statuses(responses), 200)).to.equal(49);
    const bodies = responses.map((r) => jsonBody<Acceptance>(r));
    expect(bodies.filter((b) => b.duplicate === true)).to.have.length(49);
    const items = await h.items();
    expect(items).to.have.length(1);
    expect(new Set(bodies.map((b) => b.event_id))).to.deep.equal(new Set([items[0]!.event_id]));
    expect(items[0]!.payload).to.deep.equal(body.payload);
  });

  it("lets exactly one of 50 concurrent POSTs win when they share an Idempotency-Key but carry two different bodies: the rest answer 200 (same body) or 422 (other body)", async () => {
    const h = await handlers();
    const headers = { "idempotency-key": "contested" };
    const bodies = Array.from({ length: 50 }, (_, i) => ({ event_type: "payment.captured", payload: { amount: i % 2 === 0 ? 100 : 200 } }));
    const responses = await Promise.all(bodies.map((b) => h.ingest(postEvent(b, { headers }))));

    const items = await h.items();
    expect(items).to.have.length(1);
    const winner = responses.findIndex((r) => r.statusCode === 201);
    expect(winner).to.be.at.least(0);
    expect(items[0]!.payload).to.deep.equal(bodies[winner]!.payload);
    responses.forEach((response, i) => {
      if (i === winner) return;
      const sameBody = bodies[i]!.payload.amount === bodies[winner]!.payload.amount;
      if (sameBody) {
        expect(response.statusCode, response.body).to.equal(200);
        expect(jsonBody<Acceptance>(response)).to.include({ event_id: items[0]!.event_id, duplicate: true });
      } else {
        expect(response.statusCode, response.body).to.equal(422);
        expect(jsonBody<{ code: string }>(response).code).to.equal("idempotency_key_reused");
      }
    });
    expect(count(statuses(responses), 201)).to.equal(1);
  });

  it("gives 100 concurrent POSTs without an Idempotency-Key in the same millisecond 100 distinct stored events", async () => {
    const h = await handlers();
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => h.ingest(postEvent({ event_type: "click", payload: { i } }))));
    expect(statuses(responses).every((s) => s === 201)).to.equal(true);
    const ids = responses.map((r) => jsonBody<Acceptance>(r).event_id);
    expect(new Set(ids).size).to.equal(100);
    const items = await h.items();
    expect(items).to.have.length(100);
    expect(new Set(items.map((i) => (i.payload as { i: number }).i)).size).to.equal(100);
  });

  it("keeps delivery_attempts at 1 and the event delivered when idempotent re-POSTs race 20 acks (a repeat never resets the event)", async () => {
    const h = await handlers();
    const headers = { "idempotency-key": "acked-while-reposted" };
    const created = await h.ingest(postEvent(body, { headers }));
    const eventId = jsonBody<Acceptance>(created).event_id;

    const work: Promise<Response>[] = [];
    for (let i = 0; i < 20; i++) work.push(h.ackEvent(eventId), h.ingest(postEvent(body, { headers })));
    const responses = await Promise.all(work);

    const acks = responses.filter((_, i) => i % 2 === 0);
    const reposts = responses.filter((_, i) => i % 2 === 1);
    expect(statuses(acks).every((s) => s === 200)).to.equal(true);
    expect(acks.filter((r) => jsonBody<{ changed: boolean }>(r).changed)).to.have.length(1);
    expect(statuses(reposts).every((s) => s === 200)).to.equal(true);
    for (const r of reposts) {
      expect(jsonBody<Acceptance>(r)).to.include({ event_id: eventId, duplicate: true });
      expect(["pending", "delivered"]).to.include(jsonBody<Acceptance>(r).status);
    }
    const items = await h.items();
    expect(items).to.have.length(1);
    expect(items[0]).to.include({ status: "delivered", delivery_attempts: 1 });
    expect(items[0]!.status_shard).to.match(/^delivered#/);
  });

  it("stores an item once when one batch carries it ten times with the same idempotency_key: one 201, nine 200", async () => {
    const h = await handlers();
    const item = { ...body, idempotency_key: "ten-in-one-batch" };
    const response = await h.batch(Array.from({ length: 10 }, () => item));
    expect(response.statusCode, response.body).to.equal(200);
    const result = jsonBody<BatchBody>(response);
    expect(result).to.include({ stored: 1, duplicates: 9 });
    expect(new Set(result.results.map((r) => r.event_id)).size).to.equal(1);
    expect(await h.items()).to.have.length(1);
  });

  it("stores each key once when 5 concurrent batches of 20 items overlap on their idempotency keys", async () => {
    const h = await handlers();
    // Batch b holds keys b*10 .. b*10+19: every key but the first and last ten appears in two batches.
    const batches = Array.from({ length: 5 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => ({ event_type: "overlap", payload: { key: b * 10 + i }, idempotency_key: `overlap-${b * 10 + i}` })),
    );
    const responses = await Promise.all(batches.map((events) => h.batch(events)));
    const results = responses.map((r) => jsonBody<BatchBody>(r));
    const distinctKeys = new Set(batches.flat().map((e) => e.idempotency_key)).size;

    expect(results.reduce((sum, r) => sum + r.stored, 0)).to.equal(distinctKeys);
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).to.equal(100 - distinctKeys);
    const items = await h.items();
    expect(items).to.have.length(distinctKeys);
    expect(new Set(items.map((i) => i.idempotency_key)).size).to.equal(distinctKeys);
  });

  it("answers the losers of a race on a reused Idempotency-Key with a problem+json 422 that writes nothing", async () => {
    const h = await handlers();
    const headers = { "idempotency-key": "reused-under-race" };
    await h.ingest(postEvent(body, { headers }));
    const before = await h.items();
    const events = Array.from({ length: 20 }, (_, i) => postEvent({ ...body, payload: { other: i } }, { headers }));
    const responses = await Promise.all(events.map((e) => h.ingest(e)));
    responses.forEach((r, i) => expectProblem(r, events[i]!, 422, "idempotency_key_reused"));
    expect(await h.items()).to.deep.equal(before);
  });
});
