/**
 * The state machine definition EventPipeline generates, validated with asl-validator and executed
 * by the aws-local-stepfunctions interpreter, with the stages as they deploy: Validate and Store
 * are the esbuild bundles, the user stages are their callbacks as Pulumi serializes them, and
 * events land in a real DynamoDB API (dynalite).
 */
import { expect } from "chai";
import { LambdaHost } from "../../local/lambdaHost";
import { LocalPipeline } from "../../local/pipeline";
import { eventStoreEnvironment } from "../../handlers/lib/ops/config";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { idempotentEventId } from "../../handlers/lib/primitives/ids";
import type { PipelineStage, StageCallback } from "../../components/EventPipeline";
import { paymentStages } from "../../pipelines/payments";
import { startDynalite, TEST_CREDENTIALS, type TestDynamo } from "../support/dynalite";
import { captureHandlerLogs, type HandlerLogs } from "../support/localStack";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require("asl-validator") as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const REGION = "eu-north-1";

/** Attempts per payment id; the serialized stage keeps its own copy, so it counts across invocations of one warm function. */
const attempts: Record<string, number> = {};
/** Fails with TransientError until a payment has been tried `payload.fail_times` times, then records the attempts. */
const flaky: StageCallback = async (event) => {
  const id = event.payload.payment_id;
  attempts[id] = (attempts[id] ?? 0) + 1;
  if (attempts[id] <= (event.payload.fail_times ?? 0)) {
    const error = new Error(`attempt ${attempts[id]} failed`);
    error.name = "TransientError";
    throw error;
  }
  return { ...event, payload: { ...event.payload, attempts: attempts[id] } };
};

const STAGES: PipelineStage[] = [...paymentStages, { name: "flaky", handler: flaky, retry: { maxAttempts: 3 } }];

function payment(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_type: "payment.succeeded",
    payload: { payment_id: "pay_1", amount: 125_000, currency: "EUR", country: "SE", card_country: "DE", ...overrides },
    occurred_at: "2026-11-29T10:00:00Z",
  });
}

describe("EventPipeline state machine, executed by the ASL interpreter", function () {
  this.timeout(60_000);
  let dynamo: TestDynamo;
  let host: LambdaHost;
  let pipeline: LocalPipeline;
  let logs: HandlerLogs;
  const tableName = "pipeline-events";
  const env = { ...process.env };

  // One pipeline for the file: a warm function keeps the environment it was loaded with.
  before(async () => {
    dynamo = await startDynalite();
    host = new LambdaHost();
    logs = captureHandlerLogs();
    await dynamo.createTable(EVENTS_TABLE, tableName);
  after(async () => {
    logs.restore();
    host.close();
    await dynamo.close();
    for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
  });
    pipeline = await LocalPipeline.start({
      name: "payments",
      stages: STAGES,
      host,
      region: REGION,
      retryIntervalMs: 0,
      environment: {
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        ...eventStoreEnvironment({ eventsTable: tableName, statusIndexShards: 8, maxEventBytes: 65_536 }),
      },
    });
  });
  beforeEach(() => {
    pipeline.failed.length = 0;
  });

  /** The stored events of one payment. */
  const stored = async (paymentId: string) => (await dynamo.scanAll(tableName)).filter((item) => (item.payload as Record<string, unknown>).payment_id === paymentId);

  it("is a valid Amazon States Language definition (asl-validator)", () => {
    const result = validateAsl(pipeline.definition);
    expect(result.errors).to.deep.equal([]);
    expect(result.isValid).to.equal(true);
  });

  it("happy path: validates, runs the stages in order and stores one pending event keyed on the SNS message id", async () => {
    const messageId = pipeline.publish(payment({ payment_id: "pay_happy" }));
    await pipeline.idle();
    const items = await stored("pay_happy");
    expect(items).to.have.length(1);
    const item = items[0]!;
    expect(item).to.deep.include({
      event_id: idempotentEventId("pipeline:payments", messageId),
      event_type: "payment.succeeded",
      status: "pending",
      request_id: messageId,
      source: { pipeline: "payments", sns_message_id: messageId },
      idempotency_key: messageId,
      occurred_at: "2026-11-29T10:00:00Z",
    });
    // compute-fee: 1.4% + 25 minor units; assign-risk: EUR 1,250 is "medium", one band up for a foreign card.
    expect(item.payload).to.deep.equal({
      payment_id: "pay_happy", amount: 125_000, currency: "EUR", country: "SE", card_country: "DE", fee: 1775, net_amount: 123_225, attempts: 1,
    });
    expect(item.metadata).to.deep.equal({ risk_band: "high" });
    expect(pipeline.failed).to.deep.equal([]);
  });

  it("the execution's output names the stored event, message by message", async () => {
    const { messageId, body } = pipeline.notification(payment({ payment_id: "pay_output" }));
    const output = await pipeline.execute([sqsMessage(body)]);
    expect(output).to.deep.equal([{ event_id: idempotentEventId("pipeline:payments", messageId), duplicate: false }]);
  });

  it("a stage that throws TransientError twice is retried with backoff and the event is stored once, on the third attempt", async () => {
    pipeline.publish(payment({ payment_id: "pay_flaky", fail_times: 2 }));
    await pipeline.idle();
    const items = await stored("pay_flaky");
    expect(items).to.have.length(1);
    expect((items[0]!.payload as Record<string, unknown>).attempts).to.equal(3);
    expect(pipeline.failed).to.deep.equal([]);
  });

  it("a permanent stage error stores nothing and hands the original message, the stage and the error to the failure queue", async () => {
    const { body } = pipeline.notification(payment({ payment_id: "pay_bad_currency", currency: "XXX" }));
    const output = await pipeline.execute([sqsMessage(body)]);
    expect(output).to.deep.equal([{ dead_lettered: true, failed_stage: "validate-payment", error: "PaymentRejected" }]);
    expect(await stored("pay_bad_currency")).to.have.length(0);
    expect(pipeline.failed).to.have.length(1);
    const [failed] = pipeline.failed;
    expect(failed!.body).to.equal(body); // nothing lost: the message as SNS delivered it
    expect(failed!.attributes).to.include({ failed_stage: "validate-payment", error: "PaymentRejected" });
    expect(JSON.parse(failed!.attributes.cause!)).to.deep.include({ errorType: "PaymentRejected", errorMessage: "payload.currency must be one of EUR, USD, GBP, SEK, NOK, DKK, JPY" });
  });

  it("a transient error that outlasts the retries goes to the failure queue; a redrive then stores it exactly once", async () => {
    pipeline.publish(payment({ payment_id: "pay_outage", fail_times: 5 })); // 1 try + 3 retries fail
    await pipeline.idle();
    expect(await stored("pay_outage")).to.have.length(0);
    expect(pipeline.failed.map((f) => f.attributes)).to.deep.equal([
      { failed_stage: "flaky", error: "TransientError", cause: JSON.stringify({ errorType: "TransientError", errorMessage: "attempt 4 failed", trace: [] }) },
    ]);
    expect(pipeline.redrive()).to.equal(1);
    await pipeline.idle();
    const items = await stored("pay_outage");
    expect(items).to.have.length(1);
    expect((items[0]!.payload as Record<string, unknown>).attempts).to.equal(6);
    expect(pipeline.failed).to.deep.equal([]);
  });

  it("validation rejects a message that POST /events would reject: no item, and the failure queue says which field", async () => {
    const message = JSON.stringify({ event_type: "payment.succeeded", payload: { payment_id: "pay_x", amount: 1, currency: "EUR" }, status: "delivered" });
    const { body } = pipeline.notification(message);
    const output = await pipeline.execute([sqsMessage(body)]);
    expect(output).to.deep.equal([{ dead_lettered: true, failed_stage: "Validate", error: "EventRejected" }]);
    expect(await stored("pay_x")).to.have.length(0);
    const cause = JSON.parse(pipeline.failed[0]!.attributes.cause!);
    expect(cause.errorType).to.equal("EventRejected");
    expect(JSON.parse(cause.errorMessage)).to.deep.equal({
      code: "validation_failed",
      detail: "the message does not match the event schema",
      errors: [{ pointer: "/status", code: "server_owned_field", detail: '"status" is set by the server and cannot be sent' }],
    });
  });

  it("rejects, with the pointer, what the strict reader rejects (a duplicate key) and numbers a double would round", async () => {
    const itemsBefore = (await dynamo.scanAll(tableName)).length;
    for (const [message, pointer, code] of [
      ['{"event_type":"a","payload":{"amount":1,"amount":2}}', "/payload/amount", "duplicate_key"],
      ['{"event_type":"a","payload":{"amount":12345678901234567890}}', "/payload/amount", "number_not_exact"],
    ] as const) {
      const { body } = pipeline.notification(message);
      await pipeline.execute([sqsMessage(body)]);
      const cause = JSON.parse(JSON.parse(pipeline.failed.at(-1)!.attributes.cause!).errorMessage);
      expect(cause.errors[0], message).to.deep.include({ pointer, code });
    }
    expect(await dynamo.scanAll(tableName)).to.have.length(itemsBefore);
  });

  it("the same SNS message delivered twice is stored once; the second execution reports a duplicate", async () => {
    const { messageId, body } = pipeline.notification(payment({ payment_id: "pay_twice" }));
    const first = await pipeline.execute([sqsMessage(body)]);
    const second = await pipeline.execute([sqsMessage(body)]);
    const eventId = idempotentEventId("pipeline:payments", messageId);
    expect(first).to.deep.equal([{ event_id: eventId, duplicate: false }]);
    expect(second).to.deep.equal([{ event_id: eventId, duplicate: true }]);
    expect(await stored("pay_twice")).to.have.length(1);
  });

  it("two publications with the same dedupe_key are one event; the key reused for a different message goes to the failure queue", async () => {
    const key = { dedupe_key: { DataType: "String", StringValue: "psp-evt-42" } };
    pipeline.publish(payment({ payment_id: "pay_dedupe" }), key);
    await pipeline.idle();
    pipeline.publish(payment({ payment_id: "pay_dedupe" }), key);
    await pipeline.idle();
    const items = await stored("pay_dedupe");
    expect(items).to.have.length(1);
    expect(items[0]).to.deep.include({ event_id: idempotentEventId("pipeline:payments", "psp-evt-42"), idempotency_key: "psp-evt-42" });
    expect(pipeline.failed).to.deep.equal([]);

    pipeline.publish(payment({ payment_id: "pay_other" }), key);
    await pipeline.idle();
    expect(await stored("pay_dedupe")).to.have.length(1);
    expect(await stored("pay_other")).to.have.length(0);
    expect(pipeline.failed.map((f) => [f.attributes.failed_stage, f.attributes.error])).to.deep.equal([["Store", "IdempotencyConflict"]]);
  });
});

function sqsMessage(body: string) {
  return { messageId: `sqs-${Math.random().toString(36).slice(2)}`, receiptHandle: "r", body, attributes: {}, messageAttributes: {}, md5OfBody: "", eventSource: "aws:sqs" as const, eventSourceARN: "arn:aws:sqs:eu-north-1:000000000000:buffer", awsRegion: REGION };
}
