/**
 * What deliveries cost in storage calls (docs/adr/0041), counted on the wire in front of dynalite
 * (test/support/dynamoProxy.ts) and through a counting middleware on the SQS client, with the
 * fields those calls leave behind: the deliverer reads a whole SQS batch in one BatchGetItem and
 * writes its attempt items in one BatchWriteItem, with two conditional updates per delivery to the
 * only matching subscription; with two matching subscriptions the last to deliver reads every state
 * and settles the event; keys and items DynamoDB leaves unprocessed (injected by a middleware on the
 * document client, as dynalite never leaves any) are asked again; attempt items that cannot be
 * written send their messages back, and the redelivery is skipped as settled; the dispatcher queues
 * a stream batch's deliveries ten per call. The per-message updates go, as in handlers/deliverer.ts,
 * through a plain client with `cacheMiddleware`, so a batch also shows that concurrent updates each
 * send their own input through the one cached handler. No timing is asserted.
 */
import { expect } from "chai";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { createDeliverer } from "../../handlers/lib/delivery/deliver";
import { cachedUpdates, DeliveryLog, EventDeliveryFields } from "../../handlers/lib/delivery/deliveryLog";
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
  beforeEach(() => {
    sqsCalls = [];
    inject = {};
  });

  /** How many more BatchGetItem / BatchWriteItem calls leave all but their first key or item unprocessed. */
  let inject: Partial<Record<"BatchGetItem" | "BatchWriteItem", number>> = {};
  /**
   * A middleware on the document client, before serialization (so on DynamoDB's own attribute
   * values): while `inject` says so, sends only the first key (or item) of a batch call and answers
   * the others as DynamoDB does when it leaves them unprocessed.
   */
  type BatchInput = { RequestItems: Record<string, { Keys?: unknown[] } | unknown[]> };
  async function unprocessing<R extends { output: unknown }>(commandName: string, input: BatchInput, next: (input: BatchInput) => Promise<R>): Promise<R> {
    const operation = commandName.replace(/Command$/, "") as "BatchGetItem" | "BatchWriteItem";
    if ((operation !== "BatchGetItem" && operation !== "BatchWriteItem") || !inject[operation]) return next(input);
    inject[operation] = inject[operation]! - 1;
    const sent: BatchInput["RequestItems"] = {};
    const left: BatchInput["RequestItems"] = {};
    let first = true;
    for (const [table, request] of Object.entries(input.RequestItems)) {
      const list = Array.isArray(request) ? request : request.Keys!;
      const keep = first ? list.slice(0, 1) : [];
      const rest = first ? list.slice(1) : list;
      first = false;
      if (keep.length > 0) sent[table] = Array.isArray(request) ? keep : { ...request, Keys: keep };
      if (rest.length > 0) left[table] = Array.isArray(request) ? rest : { ...request, Keys: rest };
    }
    const result = await next({ ...input, RequestItems: sent });
    (result.output as Record<string, unknown>)[operation === "BatchGetItem" ? "UnprocessedKeys" : "UnprocessedItems"] = left;
    return result;
  }
  const count = (operations: string[]) => operations.reduce<Record<string, number>>((n, op) => ((n[op] = (n[op] ?? 0) + 1), n), {});

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
    doc.middlewareStack.add((next, context) => (args) => unprocessing(String(context.commandName), args.input as BatchInput, (input) => next({ ...args, input: input as typeof args.input })), {
      step: "serialize",
      priority: "high",
      name: "injectUnprocessed",
    });
    // As handlers/deliverer.ts wires it: the per-message updates through a plain client with
    // cacheMiddleware (one resolved stack for every UpdateItem, concurrently), the rest through `doc`.
    const updates = cachedUpdates(new DynamoDBClient({ endpoint: proxy.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS, cacheMiddleware: true }));
    const log = new DeliveryLog({ doc, updates, deliveriesTable: deliveries, logDays: 1 });
    const repository = new EventRepository(doc, events);
    const ok = (): AttemptResult => ({ ok: true, status: 204, latencyMs: 1, body: "" });
    const secret = newSubscriptionSecret();
    const posts: string[] = [];
    const deliverer = createDeliverer({
      config,
      repository,
      deliveryLog: log,
      fields: new EventDeliveryFields(doc, events, 2, Date.now, updates),
      secrets: { secretsOf: async () => [secret] },
      sqs: client,
      send: async (_url, body) => (posts.push((JSON.parse(body) as { event_id: string }).event_id), ok()),
    });
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
    const deliver = async (records: SQSRecord[], failures: string[] = []) => {
      const from = proxy.log.length;
      const response = await deliverer({ Records: records });
      expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).to.deep.equal([...failures].sort());
      return proxy.log.slice(from).map((r) => r.operation).sort();
    };
    /** `n` events of type solo.created, stored and dispatched (one stream batch), and their messages as one SQS batch. */
    const soloBatch = async (n: number) => {
      const stored = await Promise.all(Array.from({ length: n }, () => store("solo.created")));
      await dispatcher({ Records: stored.map((r, i) => insert(r.event_id, "solo.created", i + 1)) });
      const records = await received("solo");
      expect(records.length).to.equal(n);
      return { stored, records };
    };
    return { store, insert, dispatcher, received, deliverer, deliver, soloBatch, posts, log, read: async (id: string) => (await new EventRepository(suite.dynamo.doc, events).find(id))! };
  }

  it("delivers to the only matching subscription with one read and three writes, and leaves the event delivered with its one attempt counted", async () => {
    const w = await world();
    const record = await w.store("solo.created");
    await w.dispatcher({ Records: [w.insert(record.event_id, "solo.created", 1)] });
    const operations = await w.deliver(await w.received("solo"));
    expect(operations).to.deep.equal(["BatchGetItem", "BatchWriteItem", "UpdateItem", "UpdateItem"]);
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
    expect(await w.deliver(await w.received("a"))).to.deep.equal(["BatchGetItem", "BatchWriteItem", "Query", "UpdateItem", "UpdateItem"]);
    expect(await w.read(record.event_id)).to.include({ status: "pending", delivery_attempts: 1 });
    await w.deliver(await w.received("b"));
    const event = await w.read(record.event_id);
    expect(event).to.include({ status: "delivered", delivery_attempts: 2 });
    expect((await w.log.states(record.event_id)).map((s) => [s.subscription, s.state, s.matched]).sort()).to.deep.equal([["a", "delivered", 2], ["b", "delivered", 2]]);
  });

  it("delivers an SQS batch of ten with one BatchGetItem, ten state updates, one BatchWriteItem and ten event updates", async () => {
    const w = await world();
    const { stored, records } = await w.soloBatch(10);
    const operations = await w.deliver(records);
    expect(count(operations)).to.deep.equal({ BatchGetItem: 1, BatchWriteItem: 1, UpdateItem: 20 });
    expect(w.posts.sort()).to.deep.equal(stored.map((r) => r.event_id).sort());
    // Each of the twenty concurrent updates went through the one cached handler with its own input.
    for (const record of stored) {
      expect(await w.read(record.event_id)).to.include({ status: "delivered", delivery_attempts: 1 });
      expect((await w.log.states(record.event_id)).map((s) => [s.state, s.tries])).to.deep.equal([["delivered", 1]]);
      expect((await w.log.attempts(record.event_id)).map((a) => [a.subscription, a.attempt, a.ok, a.status_code])).to.deep.equal([["solo", 1, true, 204]]);
    }
  });

  it("asks DynamoDB again for the keys and attempt items it left unprocessed", async () => {
    const w = await world();
    const { stored, records } = await w.soloBatch(4);
    inject = { BatchGetItem: 1, BatchWriteItem: 2 };
    const operations = await w.deliver(records);
    // The first read and the first two writes each left all but one key/item unprocessed.
    expect(count(operations)).to.deep.equal({ BatchGetItem: 2, BatchWriteItem: 3, UpdateItem: 8 });
    expect(w.posts.sort()).to.deep.equal(stored.map((r) => r.event_id).sort());
    for (const record of stored) {
      expect(await w.read(record.event_id)).to.include({ status: "delivered", delivery_attempts: 1 });
      expect((await w.log.attempts(record.event_id)).map((a) => [a.attempt, a.ok])).to.deep.equal([[1, true]]);
    }
  });

  it("sends back the messages whose attempt items stay unprocessed; redelivered, they are skipped as settled and not sent again", async () => {
    const w = await world();
    const { stored, records } = await w.soloBatch(5);
    inject = { BatchWriteItem: Infinity };
    // Each round writes one item and leaves the rest: after the fourth round one item of five is still unwritten.
    const response = await w.deliverer({ Records: records });
    inject = {};
    expect(response.batchItemFailures.length).to.equal(1);
    const back = records.find((r) => r.messageId === response.batchItemFailures[0]!.itemIdentifier)!;
    const backEvent = (JSON.parse(back.body) as { event_id: string }).event_id;
    for (const record of stored) {
      // Its state and event were settled before the log write: only the lost attempt's item is missing.
      expect(await w.read(record.event_id)).to.include({ status: "delivered", delivery_attempts: 1 });
      expect((await w.log.attempts(record.event_id)).length).to.equal(record.event_id === backEvent ? 0 : 1);
    }
    expect(w.posts.length).to.equal(5);
    expect(await w.deliver([back])).to.deep.equal(["BatchGetItem"]);
    expect(w.posts.length).to.equal(5);
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
