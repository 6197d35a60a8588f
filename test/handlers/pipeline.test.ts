/** The SNS pipeline's own stages as functions (handlers/lib/pipeline/pipeline.ts): reading a buffered message, and storing. */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { createEventWriter } from "../../handlers/lib/store/eventWriter";
import { acceptMessage, messageLogIds, PIPELINE_ENV, PipelineError, storeAccepted, type AcceptedEvent, type BufferedMessage } from "../../handlers/lib/pipeline/pipeline";
import { captureLogs } from "../support/logs";
import { EventRepository } from "../../handlers/lib/store/store";
import { ENV, EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { useDynalite } from "../support/dynalite";

const OPTIONS = { pipeline: "payments", maxEventBytes: 1024 };
const EVENT = { event_type: "payment.succeeded", payload: { payment_id: "p1", amount: 100, currency: "EUR" } };

function notification(message: string, attributes: Record<string, string> = {}): BufferedMessage {
  return {
    messageId: "sqs-1",
    body: JSON.stringify({
      Type: "Notification",
      MessageId: "sns-1",
      TopicArn: "arn:aws:sns:eu-north-1:123456789012:event-ingestion-dev-payments-topic",
      Message: message,
      Timestamp: "2026-11-29T10:00:00.000Z",
      ...(Object.keys(attributes).length ? { MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { Type: "String", Value: v }])) } : {}),
    }),
  };
}

function rejection(fn: () => unknown): { name: string; cause: { code: string; errors?: { pointer?: string; code?: string }[] } } {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PipelineError);
    return { name: (error as Error).name, cause: JSON.parse((error as Error).message) };
  }
  throw new Error("expected a rejection");
}

describe("pipeline validate handler: log ids (handlers/pipelineValidate.ts)", () => {
  it("logs a rejection with message_id = the SNS MessageId (as the stored line does) and the SQS record id as sqs_message_id", async () => {
    Object.assign(process.env, { [PIPELINE_ENV.name]: "payments", [ENV.maxEventBytes]: "1024" });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the entry reads its environment on import
    const { handler } = require("../../handlers/pipelineValidate") as typeof import("../../handlers/pipelineValidate");
    const logs = captureLogs();
    try {
      await handler(notification(JSON.stringify({ event_type: "payment.succeeded" }))).catch(() => undefined);
    } finally {
      logs.restore();
    }
    const [line] = logs.withMessage("pipeline message rejected");
    expect(line).to.include({ pipeline: "payments", message_id: "sns-1", sqs_message_id: "sqs-1" });
  });

  it("logs no message_id for a body that is not an SNS notification, only its sqs_message_id", () => {
    expect(messageLogIds({ messageId: "sqs-9", body: "{}" })).to.deep.equal({ sqs_message_id: "sqs-9" });
  });
});

describe("pipeline stages (handlers/lib/pipeline/pipeline.ts)", () => {
  describe("acceptMessage: the validation stage", () => {
    it("unwraps the SNS envelope: the event, keyed on the SNS message id, with the topic, the publish time and the message's SHA-256", () => {
      const message = JSON.stringify(EVENT);
      expect(acceptMessage(notification(message), OPTIONS)).to.deep.equal({
        event: EVENT,
        origin: {
          pipeline: "payments",
          message_id: "sns-1",
          idempotency_key: "sns-1",
          published_at: "2026-11-29T10:00:00.000Z",
          topic_arn: "arn:aws:sns:eu-north-1:123456789012:event-ingestion-dev-payments-topic",
          message_sha256: createHash("sha256").update(message).digest("hex"),
        },
      });
    });

    it("keys on the dedupe_key attribute when the publisher sets one, and refuses one that is not printable ASCII", () => {
      expect(acceptMessage(notification(JSON.stringify(EVENT), { dedupe_key: "psp-1" }), OPTIONS).origin.idempotency_key).to.equal("psp-1");
      expect(rejection(() => acceptMessage(notification(JSON.stringify(EVENT), { dedupe_key: "é" }), OPTIONS)).cause.code).to.equal("invalid_dedupe_key");
    });

    it("reads a body that is not an SNS envelope as the event itself, keyed on the SQS message id or its dedupe_key attribute", () => {
      const raw = { messageId: "sqs-9", body: JSON.stringify(EVENT) };
      expect(acceptMessage(raw, OPTIONS).origin).to.deep.include({ message_id: "sqs-9", idempotency_key: "sqs-9" });
      const keyed = { ...raw, messageAttributes: { dedupe_key: { stringValue: "k-1", dataType: "String" } } };
      expect(acceptMessage(keyed, OPTIONS).origin.idempotency_key).to.equal("k-1");
    });

    it("rejects a message over maxEventBytes, invalid JSON, a schema violation and an unknown field, each with a code and pointer", () => {
      expect(rejection(() => acceptMessage(notification(JSON.stringify({ ...EVENT, payload: { pad: "x".repeat(1100) } })), OPTIONS))).to.deep.include({
        name: "EventRejected",
        cause: { code: "payload_too_large", detail: "the message is 1155 bytes; the limit is 1024" },
      });
      expect(rejection(() => acceptMessage(notification("{not json"), OPTIONS)).cause.code).to.equal("invalid_json");
      expect(rejection(() => acceptMessage(notification('{"event_type":"","payload":{}}'), OPTIONS)).cause.errors![0]).to.deep.include({ pointer: "/event_type" });
      expect(rejection(() => acceptMessage(notification(JSON.stringify({ ...EVENT, extra: 1 })), OPTIONS)).cause.errors![0]).to.deep.include({ pointer: "/extra", code: "unknown_field" });
    });
  });

  describe("storeAccepted: the store stage", () => {
    const suite = useDynalite();
    let table: string;
    let writer: ReturnType<typeof createEventWriter>;
    beforeEach(async () => {
      table = await suite.freshTable(EVENTS_TABLE, "pipeline-store");
      writer = createEventWriter({ repository: new EventRepository(suite.dynamo.doc, table), config: { statusIndexShards: 8 } });
    });
    const accepted = (): AcceptedEvent => acceptMessage(notification(JSON.stringify(EVENT)), OPTIONS);

    it("stores once; a redelivery whose stages produced something else is still a duplicate of the same publication", async () => {
      const first = await storeAccepted(accepted(), writer);
      const again = accepted();
      again.event.payload.fee = 12; // a stage that is not deterministic
      expect(await storeAccepted(again, writer)).to.deep.equal({ event_id: first.event_id, duplicate: true });
      expect(await suite.dynamo.scanAll(table)).to.have.length(1);
    });

    it("refuses what a stage made that POST /events would refuse (a server-owned field), storing nothing", async () => {
      const bad = accepted();
      (bad.event as unknown as Record<string, unknown>).status = "delivered";
      let error: unknown;
      await storeAccepted(bad, writer).catch((e) => (error = e));
      expect(error).to.include({ name: "EventRejected" });
      expect(JSON.parse((error as Error).message).errors[0]).to.deep.include({ pointer: "/status", code: "server_owned_field" });
      expect(await suite.dynamo.scanAll(table)).to.have.length(0);
    });

    it("turns throttled or unreachable storage into StorageUnavailable, the error the state machine retries", async () => {
      const throttled = { prepare: writer.prepare, writeOne: async () => Promise.reject(Object.assign(new Error("slow down"), { name: "ThrottlingException" })) };
      let error: unknown;
      await storeAccepted(accepted(), throttled).catch((e) => (error = e));
      expect(error).to.include({ name: "StorageUnavailable" });
      const broken = { prepare: writer.prepare, writeOne: async () => Promise.reject(new TypeError("a bug")) };
      await storeAccepted(accepted(), broken).catch((e) => (error = e));
      expect(error).to.be.instanceOf(TypeError); // not retried as transient: to the failure queue
    });

    it("answers IdempotencyConflict when the key already stored a different publication", async () => {
      await storeAccepted(acceptMessage(notification(JSON.stringify(EVENT), { dedupe_key: "k" }), OPTIONS), writer);
      const other = acceptMessage(notification(JSON.stringify({ ...EVENT, payload: { payment_id: "p2" } }), { dedupe_key: "k" }), OPTIONS);
      let error: unknown;
      await storeAccepted(other, writer).catch((e) => (error = e));
      expect(error).to.include({ name: "IdempotencyConflict" });
    });
  });
});
