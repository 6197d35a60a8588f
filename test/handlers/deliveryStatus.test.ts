/**
 * The status semantics of ADR 0031 at the deliverer's level, on dynalite and a local SQS: per
 * subscription state, the event's status derived from it when two subscriptions match, attempts
 * counted, replays superseding a delivery still retrying, Retry-After honoured. The receiver is an
 * injected `send` that answers as told (the sender itself is tested in delivery.test.ts).
 */
import { expect } from "chai";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { createDeliverer } from "../../handlers/lib/delivery/deliver";
import { DeliveryLog, EventDeliveryFields } from "../../handlers/lib/delivery/deliveryLog";
import { createDeliveryDispatcher } from "../../handlers/lib/delivery/dispatch";
import { replayEvent } from "../../handlers/lib/delivery/replay";
import type { AttemptResult } from "../../handlers/lib/delivery/sender";
import { deliveryConfigFromEnv, deliveryEnvironment, newSubscriptionSecret, type DeliveryConfig } from "../../handlers/lib/delivery/subscriptions";
import { buildEventRecord } from "../../handlers/lib/events/record";
import { DELIVERIES_TABLE, EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { newEventId } from "../../handlers/lib/primitives/ids";
import { EventRepository } from "../../handlers/lib/store/store";
import { sqsRecord } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { TEST_CREDENTIALS } from "../support/dynalite";
import { useDynalite } from "../support/dynalite";

describe("delivery status, derived from each subscription's delivery (ADR 0031)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  let sqs: LocalSqs;
  let client: SQSClient;
  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: "eu-north-1" });
    client = new SQSClient({ endpoint: sqs.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
  });
  after(async () => {
    client?.destroy();
    await sqs?.close();
  });

  /** A fresh world: tables, two subscriptions (a, b) both wanting `order.*`, their queues, and the three functions' use cases. */
  async function world(answers: Record<string, (attempt: number) => AttemptResult>) {
    const events = await suite.freshTable(EVENTS_TABLE, "ds-events");
    const deliveries = await suite.freshTable(DELIVERIES_TABLE, "ds-deliveries");
    const targets = ["a", "b"].map((name) => {
      const queue = `${deliveries}-${name}`;
      sqs.store.createQueue(queue, {});
      return { name, url: `https://${name}.example.com/hook`, filters: ["order.*"], queueUrl: sqs.queueUrl(queue), secretParameter: `/t/${name}`, arn: sqs.store.arnOf(queue) };
    });
    const config: DeliveryConfig = deliveryConfigFromEnv(deliveryEnvironment({ subscriptions: targets, deliveriesTable: deliveries, maxAttempts: 3 }));
    const doc = suite.dynamo.doc;
    const log = new DeliveryLog({ doc, deliveriesTable: deliveries, logDays: 1 });
    const fields = new EventDeliveryFields(doc, events, 2);
    const repository = new EventRepository(doc, events);
    const counts: Record<string, number> = { a: 0, b: 0 };
    const secret = newSubscriptionSecret();
    const deliverer = createDeliverer({
      config,
      repository,
      deliveryLog: log,
      fields,
      secrets: { secretsOf: async () => [secret] },
      sqs: client,
      send: async (url) => {
        const name = new URL(url).hostname.split(".")[0]!;
        counts[name] = (counts[name] ?? 0) + 1;
        return answers[name]!(counts[name]!);
      },
      random: () => 0.5,
    });
    const dispatcher = createDeliveryDispatcher({ config, deliveryLog: log, sqs: client });
    const record = buildEventRecord({ event_type: "order.created", payload: { n: 1 } }, { eventId: newEventId(Date.now()), nowMs: Date.now(), receivedAtMs: Date.now(), requestId: "r", source: { api_key_id: "k" }, statusIndexShards: 2 });
    await repository.putNew(record);
    await dispatcher({ Records: [{ eventName: "INSERT", dynamodb: { NewImage: { event_id: { S: record.event_id }, event_type: { S: "order.created" } }, SequenceNumber: "1" } }] });
    /** Receives what is visible on each queue and hands it to the deliverer; returns the receipts per subscription. */
    const deliverVisible = async () => {
      const records: SQSRecord[] = [];
      for (const t of targets) {
        const received = await client.send(new ReceiveMessageCommand({ QueueUrl: t.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
        records.push(...(received.Messages ?? []).map((m) => sqsRecord(m, t.arn, "eu-north-1")));
      }
      return records.length ? deliverer({ Records: records }) : { batchItemFailures: [] };
    };
    const read = async () => (await repository.find(record.event_id))!;
    const hidden = async (name: string) =>
      Number((await client.send(new GetQueueAttributesCommand({ QueueUrl: targets.find((t) => t.name === name)!.queueUrl, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] }))).Attributes?.ApproximateNumberOfMessagesNotVisible);
    return { record, log, fields, repository, eventsTable: events, counts, deliverVisible, read, hidden, replay: (sub?: string) => replayEvent({ config, repository, deliveryLog: log, fields, sqs: client }, record.event_id, sub), config };
  }

  const ok = (): AttemptResult => ({ ok: true, status: 204, latencyMs: 1, body: "" });
  const fail = (status = 500, retryAfterSeconds?: number): AttemptResult => ({ ok: false, status, latencyMs: 1, body: "no", ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });

  it("stays pending while one of two subscriptions has delivered, and is delivered once both have", async () => {
    const w = await world({ a: ok, b: (n) => (n === 1 ? fail() : ok()) });
    const first = await w.deliverVisible();
    expect(first.batchItemFailures).to.have.length(1);
    expect((await w.read()).status).to.equal("pending");
    expect((await w.log.states(w.record.event_id)).map((s) => [s.subscription, s.state]).sort()).to.deep.equal([["a", "delivered"], ["b", "pending"]]);
    // b's message is hidden for the schedule's 5 s; make it visible now as the next receive would.
    await waitVisible(w, "b");
    await w.deliverVisible();
    const event = await w.read();
    expect(event.status).to.equal("delivered");
    expect(event.delivery_attempts).to.equal(3);
    expect(event.delivered_at).to.be.a("string");
  });

  it("is failed as soon as one subscription exhausts its attempts, even though the other delivered", async () => {
    const w = await world({ a: ok, b: () => fail() });
    await w.deliverVisible();
    let last = { batchItemFailures: [] as unknown[] };
    for (let i = 0; i < 2; i++) {
      await waitVisible(w, "b");
      last = await w.deliverVisible();
    }
    const event = await w.read();
    expect(event.status).to.equal("failed");
    expect(event.delivery_attempts).to.equal(4);
    expect((await w.log.states(w.record.event_id)).map((s) => [s.subscription, s.state, s.attempts]).sort()).to.deep.equal([["a", "delivered", 1], ["b", "failed", 3]]);
    expect(last.batchItemFailures, "the last attempt's message is done (deleted), not left for the DLQ").to.deep.equal([]);
  });

  it("honours Retry-After on 429 within the schedule: the message stays hidden for what the receiver asked", async () => {
    const w = await world({ a: ok, b: () => fail(429, 600) });
    const result = await w.deliverVisible();
    expect(result.batchItemFailures).to.have.length(1);
    const attempts = await w.log.attempts(w.record.event_id);
    expect(attempts.find((a) => a.subscription === "b")).to.include({ status_code: 429, attempt: 1 });
    expect(await w.hidden("b")).to.equal(1);
  });

  it("replays with a new webhook-id and the full schedule; the superseded message is dropped without an attempt; the event stays replayed once delivered", async () => {
    const w = await world({ a: ok, b: (n) => (n <= 1 ? fail() : ok()) });
    await w.deliverVisible(); // a delivered, b failed once and is hidden
    const before = (await w.log.states(w.record.event_id)).find((s) => s.subscription === "b")!;
    const replay = await w.replay("b");
    expect(replay.ok).to.equal(true);
    const after = (await w.log.states(w.record.event_id)).find((s) => s.subscription === "b")!;
    expect(after.webhook_id).to.not.equal(before.webhook_id);
    expect(after).to.include({ state: "pending", tries: 0, replays: 1 });
    expect((await w.read()).status).to.equal("replayed");
    await w.deliverVisible(); // the replay's message: delivered
    await waitVisible(w, "b");
    const countBefore = w.counts.b;
    await w.deliverVisible(); // the superseded message: dropped
    expect(w.counts.b).to.equal(countBefore);
    const event = await w.read();
    expect(event.status).to.equal("replayed");
    expect(event.delivered_at).to.be.a("string");
    expect((await w.log.attempts(w.record.event_id)).filter((a) => a.subscription === "b")).to.have.length(2);
  });

  it("replays an event whose payload is claim-checked to S3 without reading the payload: the type is all a replay needs", async () => {
    const w = await world({ a: ok, b: ok });
    // The item as the claim check leaves it (ADR 0035): no payload, an object key instead. This
    // repository has no bucket at all, so reading the payload would fail; the replay must not.
    const { payload: _payload, ...rest } = w.record;
    const claimChecked = { ...rest, event_id: newEventId(Date.now()), storage_format: 2, payload_object: "events/x/0123.json.br", payload_bytes: 5_000_000 };
    await suite.dynamo.doc.send(new PutCommand({ TableName: w.eventsTable, Item: claimChecked }));
    const outcome = await replayEvent({ config: w.config, repository: w.repository, deliveryLog: w.log, fields: w.fields, sqs: client }, claimChecked.event_id);
    expect(outcome).to.deep.include({ ok: true });
    expect(outcome.ok && outcome.deliveries.map((d) => d.subscription)).to.deep.equal(["a", "b"]);
    const stored = await suite.dynamo.doc.send(new GetCommand({ TableName: w.eventsTable, Key: { event_id: claimChecked.event_id } }));
    expect(stored.Item).to.include({ status: "replayed", payload_object: "events/x/0123.json.br" });
  });

  /** Makes a subscription's hidden messages visible at once (as if the retry delay had passed). */
  async function waitVisible(w: Awaited<ReturnType<typeof world>>, name: string): Promise<void> {
    const queue = sqs.store.queue(w.config.subscriptions.get(name)!.queueUrl.split("/").pop()!);
    for (const message of queue.messages.values()) message.visibleAt = 0;
  }
});
