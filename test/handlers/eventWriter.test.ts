/**
 * The shared event writer every source calls: enrichment with the origin as `source`, the
 * item-size guard, idempotent ids namespaced by origin, and the writes against dynalite.
 */
import { expect } from "chai";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { createEventWriter, idempotencyNamespace, isWriteFault, UNPROCESSED_RETRY_BUDGET_MS, type WriteOutcome } from "../../handlers/lib/store/eventWriter";
import { EVENT_ID_PATTERN } from "../../handlers/lib/primitives/ids";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import type { EventInput } from "../../handlers/lib/events/schema";
import { DYNAMODB_CLIENT_DEFAULTS, EventRepository } from "../../handlers/lib/store/store";
import { HANDLERS } from "../../handlers/routes";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { useDynalite } from "../support/dynalite";

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const input: EventInput = { event_type: "order.created", payload: { order_id: "ord_1" } };

describe("eventWriter (the write path shared by every source)", () => {
  const suite = useDynalite();

  async function writer() {
    const table = await suite.freshTable(EVENTS_TABLE, "writer");
    const repository = new EventRepository(suite.dynamo.doc, table);
    return { table, writer: createEventWriter({ repository, config: { statusIndexShards: 4 }, now: () => NOW }), items: () => suite.dynamo.scanAll(table) };
  }

  describe("prepare", () => {
    it("stores the origin as `source`: an API key, a webhook sender or a pipeline", async () => {
      const { writer: w } = await writer();
      const origins = [{ api_key_id: "0123456789abcdef" }, { webhook: "github", delivery_id: "d-1" }, { pipeline: "payments", sns_message_id: "m-1" }];
      for (const origin of origins) {
        const prepared = w.prepare(input, { origin, requestId: "req-1" });
        expect(prepared.ok).to.equal(true);
        if (prepared.ok) expect(prepared.record.source).to.deep.equal(origin);
      }
    });

    it("keeps the API-key idempotent id of earlier releases byte for byte (stored events keep matching their retries)", async () => {
      const { writer: w } = await writer();
      const prepared = w.prepare(input, { origin: { api_key_id: "0123456789abcdef" }, idempotencyKey: "order-42", requestId: "r" });
      // Computed with the ids.ts of the release before origins existed: sha256("0123456789abcdef\norder-42").
      expect(prepared.ok && prepared.record.event_id).to.equal("evt_3F352CXXXWCND1HSHW77Q7GHDP");
    });

    it("namespaces idempotent ids by origin: the same key from an API key, a webhook and a pipeline names three events", async () => {
      const { writer: w } = await writer();
      const ids = [{ api_key_id: "github" }, { webhook: "github" }, { pipeline: "github" }, { webhook: "stripe" }].map((origin) => {
        const prepared = w.prepare(input, { origin, idempotencyKey: "k-1", requestId: "r" });
        return prepared.ok ? prepared.record.event_id : "";
      });
      for (const id of ids) expect(id).to.match(EVENT_ID_PATTERN);
      expect(new Set(ids).size).to.equal(4);
      expect(idempotencyNamespace({ webhook: "github", delivery_id: "a" })).to.equal(idempotencyNamespace({ webhook: "github", delivery_id: "b" }));
    });

    it("records request id, received time (default: now) and the idempotency key", async () => {
      const { writer: w } = await writer();
      const prepared = w.prepare(input, { origin: { pipeline: "p" }, idempotencyKey: "k", requestId: "msg-9" });
      if (!prepared.ok) throw new Error("expected a record");
      expect(prepared.record).to.include({ request_id: "msg-9", received_at: new Date(NOW).toISOString(), created_at: new Date(NOW).toISOString(), idempotency_key: "k" });
    });

    it("answers 413 item_too_large when the stored item would pass DynamoDB's 400 KB", async () => {
      const { writer: w } = await writer();
      const big: EventInput = { event_type: "t", payload: { blob: "x".repeat(LIMITS.maxItemBytes) } };
      const prepared = w.prepare(big, { origin: { webhook: "github" }, requestId: "r" });
      expect(prepared.ok).to.equal(false);
      if (!prepared.ok) expect(prepared.problem).to.include({ status: 413, code: "item_too_large" });
    });
  });

  describe("writeOne", () => {
    it("answers 201, then 200 duplicate with the stored record for the same request, then 422 for a different one", async () => {
      const { writer: w, items } = await writer();
      const facts = { origin: { webhook: "github" }, idempotencyKey: "delivery-1", requestId: "r1" };
      const first = w.prepare(input, facts);
      const again = w.prepare(input, { ...facts, requestId: "r2" });
      const other = w.prepare({ ...input, payload: { order_id: "ord_2" } }, facts);
      if (!first.ok || !again.ok || !other.ok) throw new Error("expected records");

      expect((await w.writeOne(first.record)).status).to.equal(201);
      const duplicate = await w.writeOne(again.record);
      expect(duplicate).to.include({ status: 200, duplicate: true });
      expect((duplicate as Extract<WriteOutcome, { status: 200 }>).record.request_id).to.equal("r1");
      const reused = await w.writeOne(other.record);
      expect(reused.status).to.equal(422);
      expect((reused as Extract<WriteOutcome, { status: 422 }>).problem.code).to.equal("idempotency_key_reused");
      expect(await items()).to.have.length(1);
    });
  });

  describe("request fingerprint", () => {
    it("is stored only with an idempotency key, where a retry must be told from a reused key", async () => {
      const { writer: w } = await writer();
      const keyed = w.prepare(input, { origin: { api_key_id: "0123456789abcdef" }, idempotencyKey: "k", requestId: "r" });
      const fresh = w.prepare(input, { origin: { api_key_id: "0123456789abcdef" }, requestId: "r" });
      expect(keyed.ok && keyed.record.request_sha256).to.match(/^[0-9a-f]{64}$/);
      expect(fresh.ok && fresh.record).not.to.have.property("request_sha256");
    });

    it("never answers a fresh id taken by a different event as a duplicate: the write fails instead", async () => {
      const { writer: w, items } = await writer();
      const first = w.prepare(input, { origin: { api_key_id: "0123456789abcdef" }, requestId: "r1" });
      const other = w.prepare({ ...input, payload: { other: true } }, { origin: { webhook: "github" }, requestId: "r2" });
      if (!first.ok || !other.ok) throw new Error("expected records");
      expect((await w.writeOne(first.record)).status).to.equal(201);
      const collision = { ...other.record, event_id: first.record.event_id };
      let thrown: unknown;
      await w.writeOne(collision).catch((error: unknown) => (thrown = error));
      expect(String(thrown)).to.match(/already taken/);
      expect((await items())[0]).to.include({ request_id: "r1" });
    });
  });

  describe("writeMany", () => {
    it("answers one outcome per record in input order, keyed and fresh mixed, and stores each record once", async () => {
      const { writer: w, items } = await writer();
      const origin = { api_key_id: "0123456789abcdef" };
      const records = ["a", "b", "a", "c"].map((key, i) => {
        const prepared = w.prepare({ ...input, payload: { n: i } }, { origin, requestId: `r${i}`, ...(key === "b" ? {} : { idempotencyKey: key }) });
        if (!prepared.ok) throw new Error("expected a record");
        return prepared.record;
      });
      const outcomes = await w.writeMany(records);
      expect(outcomes.map((o) => (isWriteFault(o) ? "fault" : o.status)).filter((s) => s === 201)).to.have.length(3);
      // "a" twice with different payloads: exactly one of the two wins, the other is told the key was reused.
      expect([outcomes[0]!.status, outcomes[2]!.status].sort()).to.deep.equal([201, 422]);
      expect(outcomes[1]!.status).to.equal(201);
      expect(outcomes[3]!.status).to.equal(201);
      expect(await items()).to.have.length(3);
    });

    it("writeOne (the processor's write) answers a redelivered record that was acknowledged meanwhile as a duplicate and leaves it delivered (a batch write would reset it)", async () => {
      const { table, writer: w, items } = await writer();
      const prepared = w.prepare(input, { origin: { api_key_id: "0123456789abcdef" }, requestId: "r" });
      if (!prepared.ok) throw new Error("expected a record");
      expect((await w.writeMany([prepared.record]))[0]!.status).to.equal(201);
      const ack = () =>
        suite.dynamo.doc.send(new UpdateCommand({ TableName: table, Key: { event_id: prepared.record.event_id }, UpdateExpression: "SET #s = :d", ExpressionAttributeNames: { "#s": "status" }, ExpressionAttributeValues: { ":d": "delivered" } }));
      await ack();

      const redelivered = await w.writeOne(prepared.record);
      expect(redelivered).to.include({ status: 200, duplicate: true });
      expect((await items())[0]).to.include({ status: "delivered" });

      // writeMany (BatchWriteItem for a record without a key) overwrites: why the processor never uses it.
      await w.writeMany([prepared.record]);
      expect((await items())[0]).to.include({ status: "pending" });
    });

    it("stops retrying unprocessed items early enough that one more worst-case DynamoDB call still ends inside the ingest function's timeout", () => {
      const { maxAttempts, requestHandler } = DYNAMODB_CLIENT_DEFAULTS as { maxAttempts: number; requestHandler: { connectionTimeout: number; requestTimeout: number } };
      // The SDK backs off up to 50 ms × 2^n after a timeout, 1 s × 2^n after a throttle (which answers
      // at once). The longest mix is every attempt timing out, or one throttle's 2 s in between.
      const attemptMs = requestHandler.connectionTimeout + requestHandler.requestTimeout;
      const worstCall = Math.max(maxAttempts * attemptMs + 50 + 100, (maxAttempts - 1) * attemptMs + 50 + 2_000);
      expect(UNPROCESSED_RETRY_BUDGET_MS + worstCall).to.be.below(HANDLERS.ingest.timeoutSeconds * 1000 - 500);
    });
  });
});
