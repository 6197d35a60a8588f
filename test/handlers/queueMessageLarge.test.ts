/**
 * Queued mode with large events (ADR 0035): a record whose message would pass SQS's 1 MiB travels
 * with its payload brotli-compressed (message version 2) and is re-validated in full, payload
 * included, by the processor's decoder; a processor with a claim check does not refuse an item over
 * 400 KB; a crafted compressed payload is refused, not stored.
 */
import { expect } from "chai";
import { brotliCompressSync } from "node:zlib";
import { buildEventRecord } from "../../handlers/lib/events/record";
import { readJson, writeJson } from "../../handlers/lib/primitives/json";
import { decodeQueueMessage, encodeQueueMessage, type MessageChecks } from "../../handlers/lib/queue/queueMessage";
import { idempotentEventId } from "../../handlers/lib/primitives/ids";
import { idempotencyNamespace } from "../../handlers/lib/store/eventWriter";
import { githubStylePayload } from "../../cost/githubPayloads";

const SHARDS = 8;
const SOURCE = { webhook: "github", delivery_id: "d-1" };
/** The processor's checks: the producers' limits (5 MiB bodies), its clock, and with or without a claim check. */
const checks = (claimCheck = false): MessageChecks => ({ statusIndexShards: SHARDS, maxEventBytes: 5 * 1024 * 1024, nowMs: Date.now(), claimCheck });

function record(payloadText: string) {
  return buildEventRecord(
    { event_type: "github.push", payload: readJson(payloadText, { maxDepth: 33 }) as Record<string, never> },
    { eventId: idempotentEventId(idempotencyNamespace(SOURCE), "d-1"), nowMs: Date.now(), receivedAtMs: Date.now(), requestId: "req-1", source: SOURCE, statusIndexShards: SHARDS, idempotencyKey: "d-1" },
  );
}

describe("queue messages of large events (ADR 0035)", () => {
  it("sends a 1 MiB webhook payload compressed (version 2, well under SQS's 1 MiB) and decodes it to the same record, every digit kept", () => {
    const text = githubStylePayload(1024 * 1024);
    const original = record(text);
    const body = encodeQueueMessage(original);
    expect(Buffer.byteLength(body)).to.be.below(400 * 1024);
    expect(JSON.parse(body)).to.include({ v: 2 }).and.not.to.have.nested.property("record.payload");
    const decoded = decodeQueueMessage(body, checks(true));
    expect(decoded.ok, JSON.stringify(decoded)).to.equal(true);
    expect(writeJson((decoded as { record: { payload: unknown } }).record.payload)).to.equal(text);
  });

  it("keeps a small event in version 1, as every message before", () => {
    expect(JSON.parse(encodeQueueMessage(record('{"a":1}')))).to.include({ v: 1 });
  });

  it("refuses an item over 400 KB without a claim check (it could never be stored), and takes it with one", () => {
    const body = encodeQueueMessage(record(githubStylePayload(500 * 1024)));
    expect(decodeQueueMessage(body, checks())).to.deep.include({ ok: false, reason: "item_too_large" });
    expect(decodeQueueMessage(body, checks(true)).ok).to.equal(true);
  });

  it("refuses a version-2 message whose payload is not brotli JSON, or changed after the fingerprint", () => {
    const base = JSON.parse(encodeQueueMessage(record(githubStylePayload(1024 * 1024))));
    const garbage = JSON.stringify({ ...base, payload_br: Buffer.from("not brotli").toString("base64") });
    expect(decodeQueueMessage(garbage, checks(true))).to.deep.include({ ok: false, reason: "invalid_payload_encoding" });
    const swapped = JSON.stringify({ ...base, payload_br: brotliCompressSync('{"other":true}').toString("base64") });
    expect(decodeQueueMessage(swapped, checks(true))).to.deep.include({ ok: false, reason: "fingerprint_mismatch" });
  });
});
