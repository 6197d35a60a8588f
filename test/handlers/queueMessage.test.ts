/**
 * The ingest queue's message as the processor's only boundary (issue 20, security 1): anything
 * that may sqs:SendMessage to the queue can write one, so decodeQueueMessage must refuse every
 * record a producer could not have made. Records come from the producers' own enrichment
 * (createEventWriter().prepare), then one attribute is forged at a time.
 */
import { expect } from "chai";
import fc from "fast-check";
import { createEventWriter, type ArrivalFacts } from "../../handlers/lib/store/eventWriter";
import { decodeQueueMessage, encodeQueueMessage, MESSAGE_MAX_AGE_MS, type MessageChecks } from "../../handlers/lib/queue/queueMessage";
import { idempotentEventId, newEventId } from "../../handlers/lib/primitives/ids";
import { minimalJsonBytes, readJson, writeJson } from "../../handlers/lib/primitives/json";
import type { EventRecord } from "../../handlers/lib/events/record";
import type { EventInput } from "../../handlers/lib/events/schema";
import type { EventRepository } from "../../handlers/lib/store/store";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0, 123);
const CHECKS: MessageChecks = { statusIndexShards: 8, maxEventBytes: 65_536, nowMs: NOW };
const ATTACKER = "aaaaaaaaaaaaaaaa";
const VICTIM = "0123456789abcdef";

/** A record exactly as the ingest or webhook function enriches it (prepare never touches the table). */
function produced(input: EventInput, facts: Partial<ArrivalFacts> = {}, options: { retentionDays?: number; nowMs?: number } = {}): EventRecord {
  const writer = createEventWriter({
    repository: {} as EventRepository,
    config: { statusIndexShards: CHECKS.statusIndexShards, ...(options.retentionDays === undefined ? {} : { retentionDays: options.retentionDays }) },
    now: () => options.nowMs ?? NOW - 1_000,
  });
  const prepared = writer.prepare(input, { origin: { api_key_id: VICTIM }, requestId: "Abc1DefGhiJ=", receivedAtMs: NOW - 1_050, ...facts });
  if (!prepared.ok) throw new Error("fixture too large");
  return prepared.record;
}

const event: EventInput = { event_type: "order.created", payload: { order_id: "ord_1" } };

/** The message body of `record` with `changes` applied to its attributes (undefined removes one). */
function forged(record: EventRecord, changes: Record<string, unknown>): string {
  const copy: Record<string, unknown> = { ...record };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete copy[k];
    else copy[k] = v;
  }
  return encodeQueueMessage(copy as unknown as EventRecord);
}

function refused(body: string, checks: MessageChecks = CHECKS): { reason: string; detail: string } {
  const decoded = decodeQueueMessage(body, checks);
  expect(decoded.ok, JSON.stringify(decoded)).to.equal(false);
  return decoded as { reason: string; detail: string };
}

function accepted(body: string, checks: MessageChecks = CHECKS): EventRecord {
  const decoded = decodeQueueMessage(body, checks);
  expect(decoded.ok, JSON.stringify(decoded)).to.equal(true);
  return (decoded as { record: EventRecord }).record;
}

describe("queue messages: the processor re-validates a record as strictly as a producer made it", () => {
  describe("what producers send is accepted as sent", () => {
    it("an API event, a keyed API event, a webhook delivery with and without a delivery id, with TTL on", () => {
      const records = [
        produced(event),
        produced({ ...event, metadata: { tenant: "t1" }, occurred_at: "2026-06-01T11:00:00Z" }, { idempotencyKey: "order-42" }),
        produced(event, { origin: { webhook: "github", delivery_id: "d-1" }, idempotencyKey: "d-1" }),
        produced(event, { origin: { webhook: "stripe" } }),
      ];
      for (const record of records) expect(accepted(encodeQueueMessage(record))).to.deep.equal(record);
      const withTtl = produced(event, {}, { retentionDays: 30 });
      expect(accepted(encodeQueueMessage(withTtl), { ...CHECKS, retentionDays: 30 })).to.deep.equal(withTtl);
    });
  });

  describe("attribute names", () => {
    for (const name of ["toString", "valueOf", "hasOwnProperty", "__defineGetter__", "constructor", "isPrototypeOf", "extra"]) {
      it(`refuses a record with an attribute outside the schema: ${name}`, () => {
        const problem = refused(forged(produced(event), { [name]: "x" }));
        if (name === "constructor") return expect(problem.reason).to.equal("forbidden_key"); // the JSON reader's own refusal
        expect(problem).to.deep.include({ reason: "invalid_enrichment", detail: `unknown attributes "${name}"` });
      });
    }

    it("refuses an envelope with an inherited name beside v and record", () => {
      expect(refused(`{"v":1,"toString":{}}`).reason).to.equal("unknown_envelope");
    });
  });

  describe("source is exactly one producer's shape", () => {
    const shapes: [string, unknown][] = [
      ["a role beside the key id", { api_key_id: VICTIM, role: "admin" }],
      ["empty", {}],
      ["a pipeline (it never sends to the ingest queue)", { pipeline: "payments" }],
      ["two origins at once", { api_key_id: VICTIM, webhook: "github" }],
      ["a key id that no key has the form of", { api_key_id: "ADMIN" }],
      ["a webhook name no source can have", { webhook: "../admin" }],
      ["a webhook with an extra attribute", { webhook: "github", admin: "true" }],
    ];
    for (const [what, source] of shapes) {
      it(`refuses ${what}`, () => {
        expect(refused(forged(produced(event), { source })).reason).to.equal("invalid_enrichment");
      });
    }

    it("refuses a webhook delivery whose idempotency key is not its delivery id", () => {
      const record = produced(event, { origin: { webhook: "github", delivery_id: "d-1" }, idempotencyKey: "d-1" });
      const other = produced(event, { origin: { webhook: "github", delivery_id: "d-2" }, idempotencyKey: "d-1" });
      expect(accepted(encodeQueueMessage(record))).to.deep.equal(record);
      expect(refused(encodeQueueMessage(other)).reason).to.equal("invalid_enrichment");
    });
  });

  describe("event_id is derived again", () => {
    it("refuses a keyed record that takes another origin's idempotent id (that client's later POST would get 422 and never be stored)", () => {
      const own = produced(event, { origin: { api_key_id: ATTACKER }, idempotencyKey: "order-42" });
      const body = forged(own, { event_id: idempotentEventId(VICTIM, "order-42") });
      expect(refused(body).reason).to.equal("invalid_event_id");
    });

    it("refuses a record without a key that takes a keyed id, or any id not made at its created_at", () => {
      const record = produced(event);
      expect(refused(forged(record, { event_id: idempotentEventId(VICTIM, "order-42") })).reason).to.equal("invalid_event_id");
      expect(refused(forged(record, { event_id: newEventId(NOW - 5_000) })).reason).to.equal("invalid_event_id");
    });

    it("refuses a status shard key that does not match the id and shard count (pending#99)", () => {
      const problem = refused(forged(produced(event), { status_shard: "pending#99" }));
      expect(problem).to.include({ reason: "invalid_enrichment" });
      expect(problem.detail).to.match(/status_shard does not match/);
    });

    it("refuses idempotency_key without request_sha256, and the reverse", () => {
      const keyed = produced(event, { idempotencyKey: "order-42" });
      expect(refused(forged(keyed, { request_sha256: undefined }))).to.include({ reason: "invalid_enrichment", detail: "request_sha256 and idempotency_key go together" });
      expect(refused(forged(produced(event), { request_sha256: keyed.request_sha256 }))).to.include({ reason: "invalid_enrichment" });
    });

    it("refuses a fingerprint that does not match the content", () => {
      const keyed = produced(event, { idempotencyKey: "order-42" });
      expect(refused(forged(keyed, { payload: { order_id: "ord_2" } })).reason).to.equal("fingerprint_mismatch");
    });
  });

  describe("server fields", () => {
    it("refuses created_at in the future or older than a message can be", () => {
      const future = produced(event, { receivedAtMs: NOW + 3_600_000 }, { nowMs: NOW + 3_600_000 });
      expect(refused(encodeQueueMessage(future)).reason).to.equal("invalid_enrichment");
      const old = produced(event, { receivedAtMs: NOW - MESSAGE_MAX_AGE_MS - 60_000 }, { nowMs: NOW - MESSAGE_MAX_AGE_MS - 60_000 });
      expect(refused(encodeQueueMessage(old)).reason).to.equal("invalid_enrichment");
      const recent = produced(event, { receivedAtMs: NOW - 86_400_000 }, { nowMs: NOW - 86_400_000 });
      expect(accepted(encodeQueueMessage(recent))).to.deep.equal(recent);
    });

    it("refuses received_at after created_at, and timestamps not written as the producer writes them", () => {
      const record = produced(event);
      expect(refused(forged(record, { received_at: new Date(NOW + 3_600_000).toISOString() })).reason).to.equal("invalid_enrichment");
      expect(refused(forged(record, { received_at: record.received_at.replace(/\.\d{3}Z$/, "Z") })).reason).to.equal("invalid_enrichment");
      expect(refused(forged(record, { created_at: record.created_at.replace("Z", "+00:00") })).reason).to.equal("invalid_enrichment");
    });

    it("refuses a request_id with spaces, controls or no characters", () => {
      for (const requestId of ["", "a b", "line\nbreak", "x".repeat(257)]) {
        expect(refused(forged(produced(event), { request_id: requestId })).reason).to.equal("invalid_enrichment");
      }
    });

    it("stores the ttl it derives from created_at and its own retention, never the one sent (ttl: 1 would let DynamoDB delete the event)", () => {
      const record = produced(event, {}, { retentionDays: 30 });
      const stored = accepted(forged(record, { ttl: 1 }), { ...CHECKS, retentionDays: 30 });
      expect(stored.ttl).to.equal(record.ttl);
      expect(stored.ttl).to.equal(Math.floor((NOW - 1_000) / 1000) + 30 * 86_400);
      expect(accepted(forged(record, { ttl: 1 }))).to.not.have.property("ttl"); // TTL off here
    });

    it("refuses a status, attempts or delivery time other than a new event's", () => {
      const record = produced(event);
      for (const changes of [{ status: "delivered" }, { delivery_attempts: 3 }, { delivered_at: "2026-06-01T12:00:00.000Z" }, { schema_version: 2 }]) {
        expect(refused(forged(record, changes)).reason).to.equal("invalid_enrichment");
      }
    });
  });

  describe("size", () => {
    it("refuses a payload over maxEventBytes (not only over DynamoDB's 400 KB), however compactly it is written", () => {
      const record = produced({ event_type: "t", payload: { blob: "x".repeat(70_000) } });
      expect(refused(encodeQueueMessage(record))).to.include({ reason: "payload_too_large" });
      expect(accepted(encodeQueueMessage(record), { ...CHECKS, maxEventBytes: 80_000 })).to.deep.equal(record);
    });

    it("measures a payload by its shortest JSON, so a body the producer accepted is never refused for how numbers are written back", () => {
      const text = `{"n":[${Array.from({ length: 100 }, () => "1e20").join(",")}],"s":"\\u00e9\\n"}`;
      const payload = readJson(text, { maxDepth: 3 });
      expect(minimalJsonBytes(payload)).to.equal(Buffer.byteLength(text, "utf8") - 4); // "\u00e9" is é (2 bytes)
      expect(Buffer.byteLength(writeJson(payload), "utf8")).to.be.greaterThan(4 * Buffer.byteLength(text, "utf8"));
      for (const literal of ["0", "-1", "0.5", "-0.0012", "12.5", "1e-7", "123e45", "100", "1.5e300".replace("300", "100")]) {
        const value = readJson(`[${literal}]`, { maxDepth: 1 });
        expect(minimalJsonBytes(value), literal).to.be.at.most(literal.length + 2);
      }
      expect(minimalJsonBytes(readJson("[]", { maxDepth: 1 }))).to.equal(2);
      expect(minimalJsonBytes(readJson('{"a":{},"b":[1,2]}', { maxDepth: 2 }))).to.equal('{"a":{},"b":[1,2]}'.length);

      // Any text that reads as a value is at least as long as the value's shortest JSON.
      const digits = fc.stringMatching(/^[0-9]{1,20}$/);
      const literal = fc
        .tuple(fc.boolean(), digits, fc.option(digits), fc.option(fc.tuple(fc.constantFrom("e", "E", "e+", "e-"), fc.integer({ min: 0, max: 60 }))))
        .map(([negative, int, frac, exp]) => `${negative ? "-" : ""}${int.replace(/^0+(?=\d)/, "")}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `${exp[0]}${exp[1]}`}`);
      fc.assert(
        fc.property(fc.array(fc.oneof(literal, fc.json()), { maxLength: 8 }), fc.constantFrom("", " ", "\n  "), (items, space) => {
          const text = `[${space}${items.join(`,${space}`)}${space}]`;
          let value;
          try {
            value = readJson(text, { maxDepth: 40 });
          } catch {
            return; // not storable (e.g. -0, too many digits): the producer refused it too
          }
          expect(minimalJsonBytes(value), text).to.be.at.most(Buffer.byteLength(text, "utf8"));
          expect(minimalJsonBytes(value), text).to.be.at.most(Buffer.byteLength(writeJson(value), "utf8"));
        }),
        { numRuns: 500 },
      );

      const record = produced({ event_type: "t", payload: payload as Record<string, unknown> });
      expect(accepted(encodeQueueMessage(record), { ...CHECKS, maxEventBytes: Buffer.byteLength(text, "utf8") })).to.deep.equal(record);
    });
  });
});
