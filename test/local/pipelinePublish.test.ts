/**
 * The SNS pipeline end to end on the local stack: the real `@aws-sdk/client-sns` publishes to the
 * local endpoint, the generated definition runs the bundles and the serialized example stages, and
 * the event is read back through the local API with the local key.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { idempotentEventId } from "../../handlers/lib/primitives/ids";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

describe("local stack: publishing to the SNS pipeline", function () {
  this.timeout(60_000);
  let stack: LocalStack;
  let sns: SNSClient;
  let key: string;
  let logs: HandlerLogs;
  let dataDir: string;

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    stack = await startTestStack(dataDir, { settings: { pipeline: true } });
    key = stack.createdApiKey!;
    sns = new SNSClient({ endpoint: stack.pipeline!.snsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });
  after(async () => {
    sns?.destroy();
    await stack?.close();
    logs.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs no pipeline and no SNS endpoint unless config pipeline is on (it is off in Pulumi.dev.yaml)", async () => {
    const plainDir = tempDataDir();
    const plain = await startTestStack(plainDir);
    try {
      expect(plain.settings.pipeline).to.equal(false);
      expect(plain.pipeline).to.equal(undefined);
    } finally {
      await plain.close();
      fs.rmSync(plainDir, { recursive: true, force: true });
    }
  });

  it("a payment published with the SNS client is stored with its fee and risk band, and readable through the API", async () => {
    const message = { event_type: "payment.succeeded", payload: { payment_id: "pay_e2e", amount: 990, currency: "SEK", country: "SE", card_country: "SE" } };
    const published = await sns.send(new PublishCommand({ TopicArn: stack.pipeline!.topicArn, Message: JSON.stringify(message) }));
    expect(published.MessageId).to.match(/^[0-9a-f-]{36}$/);
    await stack.pipeline!.runner.idle();

    const eventId = idempotentEventId("pipeline:payments", published.MessageId!);
    const read = await call(stack, "GET", `/events/${eventId}`, { key });
    expect(read.status, read.text).to.equal(200);
    expect(read.json()).to.deep.include({
      event_id: eventId,
      event_type: "payment.succeeded",
      status: "pending",
      source: { pipeline: "payments", sns_message_id: published.MessageId },
      metadata: { risk_band: "low" },
    });
    expect(read.json<{ payload: unknown }>().payload).to.deep.equal({ ...message.payload, fee: 39, net_amount: 951 });

    const inbox = await call(stack, "GET", "/inbox", { key });
    expect(inbox.json<{ items: { event_id: string }[] }>().items.map((i) => i.event_id)).to.include(eventId);
  });

  it("a message attribute dedupe_key makes two publications one event", async () => {
    const message = JSON.stringify({ event_type: "payment.refunded", payload: { payment_id: "pay_dup", amount: 500, currency: "EUR" } });
    const attributes = { dedupe_key: { DataType: "String", StringValue: "refund-77" } };
    await sns.send(new PublishCommand({ TopicArn: stack.pipeline!.topicArn, Message: message, MessageAttributes: attributes }));
    await sns.send(new PublishCommand({ TopicArn: stack.pipeline!.topicArn, Message: message, MessageAttributes: attributes }));
    await stack.pipeline!.runner.idle();
    const listing = await call(stack, "GET", "/events?status=pending&event_type=payment.refunded", { key });
    expect(listing.json<{ items: { event_id: string }[] }>().items.map((i) => i.event_id)).to.deep.equal([idempotentEventId("pipeline:payments", "refund-77")]);
  });

  it("a rejected message stores nothing and waits in the failure queue with the reason", async () => {
    const failedBefore = stack.pipeline!.runner.failed.length;
    await sns.send(new PublishCommand({ TopicArn: stack.pipeline!.topicArn, Message: '{"event_type":"payment.succeeded","payload":{"payment_id":"p","amount":-5,"currency":"EUR"}}' }));
    await stack.pipeline!.runner.idle();
    const failed = stack.pipeline!.runner.failed.slice(failedBefore);
    expect(failed.map((f) => [f.attributes.failed_stage, f.attributes.error])).to.deep.equal([["validate-payment", "PaymentRejected"]]);
    const listing = await call(stack, "GET", "/events?status=pending&event_type=payment.succeeded", { key });
    expect(listing.json<{ items: unknown[] }>().items).to.have.length(1); // only the payment of the first test
  });

  it("answers as SNS does for an unknown topic and an unsupported action", async () => {
    let error: unknown;
    try {
      await sns.send(new PublishCommand({ TopicArn: "arn:aws:sns:eu-north-1:000000000000:nope", Message: "{}" }));
    } catch (e) {
      error = e;
    }
    expect(error).to.include({ name: "NotFoundException" });
    const other = await fetch(stack.pipeline!.snsEndpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=ListTopics" });
    expect(other.status).to.equal(400);
    expect(await other.text()).to.include("<Code>InvalidAction</Code>");
  });
});
