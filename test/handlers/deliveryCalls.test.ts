/**
 * What one delivery costs in storage calls (docs/adr/0041), counted on the wire in front of
 * dynalite (test/support/dynamoProxy.ts) and through a counting middleware on the SQS client, with
 * the fields those calls leave behind: a delivery to the only matching subscription reads once and
 * writes three times and leaves the event delivered with its attempt counted; with two matching
 * subscriptions the last to deliver reads every state and settles the event; the dispatcher queues
 * a stream batch's deliveries ten per call. No timing is asserted.
 */
import { expect } from "chai";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { createDeliverer } from "../../handlers/lib/delivery/deliver";
import { DeliveryLog, EventDeliveryFields } from "../../handlers/lib/delivery/deliveryLog";
import { createDeliveryDispatcher } from "../../handlers/lib/delivery/dispatch";
import type { AttemptResult } from "../../handlers/lib/delivery/sender";
import { deliveryConfigFromEnv, deliveryEnvironment, newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import { buildEventRecord } from "../../handlers/lib/events/record";
import { newEventId } from "../../handlers/lib/primitives/ids";
import { DELIVERIES_TABLE, EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { sqsRecord } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamoProxy";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";

describe("deliveries: storage calls per delivery (ADR 0041)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  let sqs: LocalSqs;
  let client: SQSClient;
  let proxy: DynamoProxy;
  let sqsCalls: string[];
  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: "eu-north-1" });
    client = new SQSClient({ endpoint: sqs.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
    client.middlewareStack.add((next, context) => (args) => (sqsCalls.push(String(context.commandName)), next(args)), { step: "initialize", name: "countCalls" });
    proxy = await startDynamoProxy(suite.dynamo.endpoint, () => "forward");
  });
  after(async () => {
    client?.destroy();
    await sqs?.close();
    await proxy?.close();
  });
  beforeEach(() => (sqsCalls = []));

  /** Tables, subscriptions `solo` (solo.*) and `a`, `b` (pair.*), their queues, and the functions' use cases over the counting proxy. */
  async function world() {
    const events = await suite.freshTable(EVENTS_TABLE, "dc-events");
    const deliveries = await suite.freshTable(DELIVERIES_TABLE, "dc-deliveries");
    const targets = [
      { name: "solo", filters: ["solo.*"] },
      { name: "a", filters: ["pair.*"] },
      { name: "b", filters: ["pair.*"] },
    ].map(({ name, filters }) => {
      const queue = `${deliveries}-${name}`;
      sqs.store.createQueue(queue, {});
      return { name, url: `https://${name}.example.com/hook`, filters, queueUrl: sqs.queueUrl(queue), secretParameter: `/t/${name}`, arn: sqs.store.arnOf(queue) };
    });
    const config = deliveryConfigFromEnv(deliveryEnvironment({ subscriptions: targets, deliveriesTable: deliveries, maxAttempts: 3 }));
    const doc = createDocumentClient({ endpoint: proxy.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
    const log = new DeliveryLog({ doc, deliveriesTable: deliveries, logDays: 1 });
    const repository = new EventRepository(doc, events);
    const ok = (): AttemptResult => ({ ok: true, status: 204, latencyMs: 1, body: "" });
    const secret = newSubscriptionSecret();
    const deliverer = createDeliverer({ config, repository, deliveryLog: log, fields: new EventDeliveryFields(doc, events, 2), secrets: { secretsOf: async () => [secret] }, sqs: client, send: async () => ok() });
    const dispatcher = createDeliveryDispatcher({ config, deliveryLog: log, sqs: client });
    const store = async (eventType: string) => {
      const record = buildEventRecord({ event_type: eventType, payload: { n: 1 } }, { eventId: newEventId(Date.now()), nowMs: Date.now(), receivedAtMs: Date.now(), requestId: "r", source: { api_key_id: "k" }, statusIndexShards: 2 });
      await repository.putNew(record);
      return record;
    };
    const insert = (eventId: string, eventType: string, sequence: number) => ({
      eventName: "INSERT" as const,
      dynamodb: { NewImage: { event_id: { S: eventId }, event_type: { S: eventType } }, SequenceNumber: String(sequence) },
    });
    const received = async (name: string): Promise<SQSRecord[]> => {
      const target = targets.find((t) => t.name === name)!;
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: target.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
      return (out.Messages ?? []).map((m) => sqsRecord(m, target.arn, "eu-north-1"));
    };
    /** Runs the deliverer on `records` and returns the DynamoDB operations it sent, sorted. */
    const deliver = async (records: SQSRecord[]) => {
      const from = proxy.log.length;
      const response = await deliverer({ Records: records });
      expect(response.batchItemFailures).to.deep.equal([]);
      return proxy.log.slice(from).map((r) => r.operation).sort();
    };
    return { store, insert, dispatcher, received, deliver, log, read: async (id: string) => (await new EventRepository(suite.dynamo.doc, events).find(id))! };
  }

  it("delivers to the only matching subscription with one read and three writes, and leaves the event delivered with its one attempt counted", async () => {
    const w = await world();
    const record = await w.store("solo.created");
    await w.dispatcher({ Records: [w.insert(record.event_id, "solo.created", 1)] });
    const operations = await w.deliver(await w.received("solo"));
    expect(operations).to.deep.equal(["BatchGetItem", "PutItem", "UpdateItem", "UpdateItem"]);
    const event = await w.read(record.event_id);
    expect(event).to.include({ status: "delivered", delivery_attempts: 1 });
    expect(event.delivered_at).to.be.a("string");
    expect(event.status_shard).to.match(/^delivered#/);
    expect((await w.log.states(record.event_id)).map((s) => [s.subscription, s.state, s.attempts, s.tries, s.matched])).to.deep.equal([["solo", "delivered", 1, 1, 1]]);
    expect((await w.log.attempts(record.event_id)).map((a) => [a.subscription, a.attempt, a.ok, a.status_code])).to.deep.equal([["solo", 1, true, 204]]);
  });

  it("with two matching subscriptions, counts the first delivery and keeps the event pending; the last one reads every state (Query) and settles the event", async () => {
    const w = await world();
    const record = await w.store("pair.created");
    await w.dispatcher({ Records: [w.insert(record.event_id, "pair.created", 1)] });
    expect(await w.deliver(await w.received("a"))).to.deep.equal(["BatchGetItem", "PutItem", "Query", "UpdateItem", "UpdateItem"]);
    expect(await w.read(record.event_id)).to.include({ status: "pending", delivery_attempts: 1 });
    await w.deliver(await w.received("b"));
    const event = await w.read(record.event_id);
    expect(event).to.include({ status: "delivered", delivery_attempts: 2 });
    expect((await w.log.states(record.event_id)).map((s) => [s.subscription, s.state, s.matched]).sort()).to.deep.equal([["a", "delivered", 2], ["b", "delivered", 2]]);
  });

  it("dispatches a stream batch of 25 events with three SendMessageBatch calls, one message each", async () => {
    const w = await world();
    const records = await Promise.all(Array.from({ length: 25 }, () => w.store("solo.created")));
    const result = await w.dispatcher({ Records: records.map((r, i) => w.insert(r.event_id, "solo.created", i + 1)) });
    expect(result.batchItemFailures).to.deep.equal([]);
    expect(sqsCalls).to.deep.equal(["SendMessageBatchCommand", "SendMessageBatchCommand", "SendMessageBatchCommand"]);
    const queued: string[] = [];
    for (let batch = await w.received("solo"); batch.length > 0; batch = await w.received("solo")) queued.push(...batch.map((r) => (JSON.parse(r.body) as { event_id: string }).event_id));
    expect(queued.sort()).to.deep.equal(records.map((r) => r.event_id).sort());
  });
});
