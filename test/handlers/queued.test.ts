/**
 * Queued mode, handler by handler, against dynalite and the local SQS through the real SDK
 * clients: POST /events and /events/batch answering 202 after SendMessage(Batch), the same 4xx as
 * direct mode, 503 when SQS refuses; the processor storing each message once through the shared
 * event writer, reporting only the failed messages, and sending unprocessable ones on their way to
 * the DLQ.
 */
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent } from "aws-lambda";
import { createEventWriter } from "../../handlers/lib/store/eventWriter";
import { QueueSendError } from "../../handlers/lib/primitives/faults";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { NumberValue } from "../../handlers/lib/primitives/json";
import { createQueueProcessor } from "../../handlers/lib/queue/processQueue";
import { decodeQueueMessage, encodeQueueMessage } from "../../handlers/lib/queue/queueMessage";
import { createSqsClient, QueueSender } from "../../handlers/lib/queue/queueSender";
import type { EventRecord } from "../../handlers/lib/events/record";
import type { HttpEvent } from "../../handlers/lib/http/request";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { sqsRecord } from "../../local/sqs/poller";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { httpEvent, postEvent } from "../support/events";
import { closedEndpoint } from "../support/faults";
import { editingSqsProxy, failingSqs } from "../support/sqsFaults";
import { expectProblem, jsonBody } from "../support/http";

const REGION = "eu-north-1";
const CONFIG = { statusIndexShards: 8, maxEventBytes: 65_536 } as const;
const CONTEXT = { functionName: "processor", awsRequestId: "test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe("queued mode: ingest → SQS → processor (handlers against dynalite and the local SQS)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  let sqs: LocalSqs;
  let client: SQSClient;
  let queue = 0;

  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
  });
  after(async () => {
    client.destroy();
    await sqs.close();
  });

  /** A fresh table and queue, a direct and a queued ingest handler over them, and the processor. */
  async function setup(options: { sqsEndpoint?: string; dynamoEndpoint?: string; maxEventBytes?: number } = {}) {
    const table = await suite.freshTable(EVENTS_TABLE, "events");
    const name = `ingest-${++queue}`;
    sqs.store.createQueue(name, { VisibilityTimeout: 60 });
    const queueUrl = sqs.queueUrl(name);
    const doc = options.dynamoEndpoint ? createDocumentClient({ endpoint: options.dynamoEndpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 }) : suite.dynamo.doc;
    const repository = new EventRepository(doc, table);
    const sender = new QueueSender(
      options.sqsEndpoint ? createSqsClient({ endpoint: options.sqsEndpoint, region: REGION, credentials: TEST_CREDENTIALS }) : client,
      queueUrl,
    );
    const config = { eventsTable: table, ...CONFIG, ...(options.maxEventBytes ? { maxEventBytes: options.maxEventBytes } : {}) };
    const queued = createIngestHandler({ repository, config, queue: sender });
    const direct = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config });
    const processor = createQueueProcessor({ repository, sqs: client, queueUrl, ...CONFIG });
    const receive = async (visibility = 60): Promise<Message[]> =>
      (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: visibility, MessageSystemAttributeNames: ["All"] }))).Messages ?? [];
    const send = (body: string) => client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    /** Receives what is queued and hands it to the processor, then deletes what succeeded, as Lambda's event source mapping does. */
    const process = async (messages?: Message[]) => {
      const batch = messages ?? (await receive());
      const response = await processor(sqsEvent(batch, sqs.store.arnOf(name)), CONTEXT);
      const failed = response.batchItemFailures.map((f) => f.itemIdentifier);
      const done = batch.filter((m) => !failed.includes(m.MessageId!));
      if (done.length > 0) {
        await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
      return { batch, failed };
    };
    const depth = () => sqs.store.counts(name);
    return { table, queueUrl, queued, direct, processor, receive, send, process, depth, items: () => suite.dynamo.scanAll(table) };
  }

  describe("POST /events", () => {
    it("answers 202 {event_id, status: queued, created_at, delivered_at: null, request_id} with Location once SQS holds the record; the table has nothing yet", async () => {
      const s = await setup();
      const event = postEvent({ event_type: "order.created", payload: { id: 1 } });
      const response = await s.queued(event);
      expect(response.statusCode, response.body).to.equal(202);
      const body = jsonBody<Record<string, unknown>>(response);
      expect(body).to.have.all.keys("event_id", "status", "created_at", "delivered_at", "request_id");
      expect(body).to.include({ status: "queued", delivered_at: null, request_id: event.requestContext.requestId });
      expect(response.headers.location).to.equal(`/events/${body.event_id}`);
      expect(await s.items()).to.have.length(0);
      const [message] = await s.receive();
      const decoded = decodeQueueMessage(message!.Body!, { ...CONFIG, nowMs: Date.now() });
      expect(decoded.ok).to.equal(true);
      expect((decoded as { record: EventRecord }).record).to.include({ event_id: body.event_id, status: "pending", event_type: "order.created" });
    });

    it("carries numbers through SQS digit for digit, and U+FFFF (valid JSON, refused by SQS) as an escape", async () => {
      const s = await setup();
      const raw = '{"event_type":"precise","payload":{"big":123456789012345678901234567890,"small":1.0000000000000000000001,"nul":"a\\uffffb"}}';
      const response = await s.queued(postEvent(raw));
      expect(response.statusCode, response.body).to.equal(202);
      const { failed } = await s.process();
      expect(failed).to.deep.equal([]);
      const exact = DynamoDBDocumentClient.from(suite.dynamo.client, { unmarshallOptions: { wrapNumbers: true } });
      const { Item } = await exact.send(
        new GetCommand({ TableName: s.table, Key: { event_id: jsonBody<{ event_id: string }>(response).event_id } }),
      );
      expect((Item!.payload.big as NumberValue).value).to.equal("123456789012345678901234567890");
      expect((Item!.payload.small as NumberValue).value).to.equal("1.0000000000000000000001");
      expect(Item!.payload.nul).to.equal("a\uffffb");
    });

    it("answers every 4xx exactly as direct mode does, and queues nothing", async () => {
      const s = await setup();
      const cases: HttpEvent[] = [
        postEvent("{not json"),
        postEvent({ event_type: "", payload: {} }),
        postEvent({ event_type: "ok", payload: {}, status: "delivered" }),
        postEvent('{"event_type":"t","payload":{"a":1,"a":2}}'),
        postEvent('{"event_type":"t","payload":{"n":1e400}}'),
        postEvent({ event_type: "ok", payload: { big: "x".repeat(70_000) } }),
        postEvent({ event_type: "ok", payload: {} }, { headers: { "content-type": "text/plain" } }),
        postEvent({ event_type: "ok", payload: {} }, { headers: { "idempotency-key": "\u00e9" } }),
        httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [] }) }),
        httpEvent({ routeKey: "POST /events/batch", body: "[]" }),
      ];
      for (const event of cases) {
        const queued = await s.queued(event);
        const direct = await s.direct(event);
        expect(queued.statusCode, queued.body).to.be.within(400, 499);
        expect(queued.statusCode, event.body).to.equal(direct.statusCode);
        expect(JSON.parse(queued.body ?? ""), event.body ?? "").to.deep.equal(JSON.parse(direct.body ?? ""));
      }
      expect(s.depth()).to.deep.include({ visible: 0, notVisible: 0 });
    });

    it("answers 503 queue_unavailable with Retry-After and 'Not queued' when SQS refuses the connection", async () => {
      const s = await setup({ sqsEndpoint: await closedEndpoint() });
      const event = postEvent({ event_type: "t", payload: {} });
      const response = await s.queued(event);
      const problem = expectProblem(response, event, 503, "queue_unavailable");
      expect(response.headers["retry-after"]).to.equal("1");
      expect(problem.detail).to.match(/^Not queued\./);
      expect(await s.items()).to.have.length(0);
    });

    it("answers 503 that says the event may have been queued when SQS never answers", async function () {
      this.timeout(30_000);
      const silent = net.createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      try {
        const s = await setup({ sqsEndpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
        const event = postEvent({ event_type: "t", payload: {} });
        const problem = expectProblem(await s.queued(event), event, 503, "queue_unavailable");
        expect(problem.detail).to.match(/may or may not have been queued/);
      } finally {
        silent.close();
      }
    });
  });

  describe("POST /events/batch", () => {
    it("answers 202 when every item is queued, 207 with per-item results when one is invalid; only the valid items are queued", async () => {
      const s = await setup();
      const events = Array.from({ length: 12 }, (_, i) => ({ event_type: "page.viewed", payload: { i } }));
      const all = await s.queued(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) }));
      expect(all.statusCode, all.body).to.equal(202);
      expect(jsonBody<Record<string, unknown>>(all)).to.include({ stored: 0, queued: 12, duplicates: 0, rejected: 0 });
      expect(s.depth().visible).to.equal(12);

      const mixed = await s.queued(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [events[0]!, { event_type: "", payload: {} }] }) }));
      expect(mixed.statusCode).to.equal(207);
      const body = jsonBody<{ results: { status: number }[] }>(mixed);
      expect(body.results.map((r) => r.status)).to.deep.equal([202, 400]);
      expect(s.depth().visible).to.equal(13);

      // Every item rejected: 207 too (README and OpenAPI say so), never 202 or 200.
      const rejected = await s.queued(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [{ event_type: "", payload: {} }] }) }));
      expect(rejected.statusCode).to.equal(207);
    });

    it("reports 503 queue_unavailable per item with Retry-After when SQS is unreachable", async () => {
      const s = await setup({ sqsEndpoint: await closedEndpoint() });
      const response = await s.queued(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: [{ event_type: "a", payload: {} }, { event_type: "b", payload: {} }] }) }));
      expect(response.statusCode).to.equal(207);
      expect(response.headers["retry-after"]).to.equal("1");
      const body = jsonBody<{ results: { status: number; error: { code: string; detail: string } }[] }>(response);
      expect(body.results.map((r) => [r.status, r.error.code])).to.deep.equal([
        [503, "queue_unavailable"],
        [503, "queue_unavailable"],
      ]);
      expect(body.results[0]!.error.detail).to.match(/^Not queued\./);
    });
  });

  describe("SendMessageBatch partial failures", () => {
    it("settles each send on its own: an entry SQS refuses fails alone and says it was not queued", async () => {
      const s = await setup();
      const sender = new QueueSender(client, s.queueUrl);
      const results = await Promise.allSettled([sender.send("fine"), sender.send("\uFFFF not allowed by SQS"), sender.send("also fine")]);
      expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      const error = (results[1] as PromiseRejectedResult).reason as QueueSendError;
      expect(error).to.be.instanceOf(QueueSendError);
      expect(error).to.include({ mayHaveBeenQueued: false, code: "InvalidMessageContents" });
      expect(s.depth().visible).to.equal(2);
    });
  });

  describe("what SQS cannot take, or does not confirm (issue 26)", () => {
    const batchOf = (...events: unknown[]) => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });
    const results = (response: { body?: string }) => jsonBody<{ results: { status: number; error?: { code: string; detail: string } }[] }>(response as never).results;

    it("answers 413, not 503 'retry later', for a record over SQS's message limit without a payload bucket to claim-check it (ADR 0043); nothing queued", async () => {
      // Random bytes do not compress: the message stays over SQS's 1 MiB even as envelope v2.
      // With a bucket it would be claim-checked instead (test/handlers/queuedClaimCheck.test.ts).
      const s = await setup({ maxEventBytes: 2 * 1024 * 1024 });
      const big = { event_type: "t", payload: { blob: randomBytes(800 * 1024).toString("base64") } };
      const event = postEvent(big);
      // Without a bucket DynamoDB's 400 KB binds before SQS's 1 MiB does.
      const problem = expectProblem(await s.queued(event), event, 413, "item_too_large");
      expect(problem.detail).to.match(/limit is/);
      // (A batch body is capped below SQS's 1 MiB since the limits moved to 1 MiB, so no batch item can reach it.)
      expect(s.depth().visible).to.equal(0);
    });

    it("reports 'may or may not have been queued' for each item of a batch when SQS never answers", async function () {
      this.timeout(30_000);
      const silent = net.createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      try {
        const s = await setup({ sqsEndpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
        const response = await s.queued(batchOf({ event_type: "a", payload: {} }, { event_type: "b", payload: {} }, { event_type: "c", payload: {} }));
        expect(response.statusCode).to.equal(207);
        for (const result of results(response)) {
          expect(result).to.include({ status: 503 });
          expect(result.error!.code).to.equal("queue_unavailable");
          expect(result.error!.detail).to.match(/may or may not have been queued/);
        }
      } finally {
        silent.close();
      }
    });

    it("splits bodies that together exceed SQS's batch byte limit across SendMessageBatch calls, each within it", async () => {
      const s = await setup();
      const proxy = await editingSqsProxy(sqs.endpoint, (_action, answer) => answer);
      const sizes: number[] = [];
      const proxied = createSqsClient({ endpoint: proxy.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
      proxied.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { Entries?: { MessageBody?: string }[] };
          if (input.Entries) sizes.push(input.Entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? "", "utf8"), 0));
          return next(args);
        },
        { step: "initialize", name: "countBatchBytes" },
      );
      try {
        const sender = new QueueSender(proxied, s.queueUrl);
        const body = (c: string) => c.repeat(300 * 1024);
        // 6 × 300 KB: two batches of three, each under SQS's 1 MiB per batch.
        const sent = await Promise.allSettled(["a", "b", "c", "d", "e", "f"].map((c) => sender.send(body(c))));
        expect(sent.map((r) => r.status)).to.deep.equal(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
        expect(proxy.calls.filter((c) => c === "SendMessageBatch").length).to.equal(2);
        expect(sizes.every((n) => n <= 1024 * 1024), String(sizes)).to.equal(true);
        expect(s.depth().visible).to.equal(6);
      } finally {
        proxied.destroy();
        await proxy.close();
      }
    });

    it("fails an entry left out of a SendMessageBatch answer with outcome unknown; its batch-mates are queued", async () => {
      const s = await setup();
      const proxy = await editingSqsProxy(sqs.endpoint, (action, answer) =>
        action === "SendMessageBatch" ? { ...answer, Successful: (answer.Successful as { Id: string }[]).filter((e) => e.Id !== "1") } : answer,
      );
      try {
        const sender = new QueueSender(createSqsClient({ endpoint: proxy.endpoint, region: REGION, credentials: TEST_CREDENTIALS }), s.queueUrl);
        const sent = await Promise.allSettled([sender.send("first"), sender.send("second"), sender.send("third")]);
        expect(sent.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
        expect((sent[1] as PromiseRejectedResult).reason).to.be.instanceOf(QueueSendError).and.include({ mayHaveBeenQueued: true, code: "unreported" });

        const queuedHandler = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, s.table), config: { eventsTable: s.table, ...CONFIG }, queue: sender });
        const response = await queuedHandler(batchOf({ event_type: "a", payload: {} }, { event_type: "b", payload: {} }));
        expect(results(response).map((r) => r.status)).to.deep.equal([202, 503]);
        expect(results(response)[1]!.error!.detail).to.match(/may or may not have been queued/);
      } finally {
        await proxy.close();
      }
    });

    it("reports an SQS 5xx as outcome unknown, for one event and for each batch item", async () => {
      const failing = await failingSqs();
      try {
        const s = await setup({ sqsEndpoint: failing.endpoint });
        const event = postEvent({ event_type: "t", payload: {} });
        const problem = expectProblem(await s.queued(event), event, 503, "queue_unavailable");
        expect(problem.detail).to.match(/may or may not have been queued/);
        const response = await s.queued(batchOf({ event_type: "a", payload: {} }, { event_type: "b", payload: {} }));
        for (const result of results(response)) expect(result.error!.detail).to.match(/may or may not have been queued/);
        expect(failing.calls.length).to.be.greaterThan(2); // the SDK retried: a 5xx is worth retrying
      } finally {
        await failing.close();
      }
    });
  });

  describe("Idempotency-Key in queued mode (docs/adr/0016)", () => {
    const keyed = (body: unknown) => postEvent(body, { headers: { "idempotency-key": "order-42" } });

    it("queues a repeat sent before the first is stored, and the processor stores one event", async () => {
      const s = await setup();
      const first = await s.queued(keyed({ event_type: "t", payload: { n: 1 } }));
      const second = await s.queued(keyed({ event_type: "t", payload: { n: 1 } }));
      expect([first.statusCode, second.statusCode]).to.deep.equal([202, 202]);
      expect(jsonBody<{ event_id: string }>(first).event_id).to.equal(jsonBody<{ event_id: string }>(second).event_id);
      const { failed } = await s.process();
      expect(failed).to.deep.equal([]);
      expect(await s.items()).to.have.length(1);
    });

    it("answers a repeat of a stored event 200 duplicate and a different body 422, synchronously, queueing neither", async () => {
      const s = await setup();
      await s.queued(keyed({ event_type: "t", payload: { n: 1 } }));
      await s.process();
      const repeat = await s.queued(keyed({ event_type: "t", payload: { n: 1 } }));
      expect(repeat.statusCode, repeat.body).to.equal(200);
      expect(jsonBody<Record<string, unknown>>(repeat)).to.include({ duplicate: true, status: "pending" });
      const event = keyed({ event_type: "t", payload: { n: 2 } });
      expectProblem(await s.queued(event), event, 422, "idempotency_key_reused");
      expect(s.depth()).to.deep.include({ visible: 0, notVisible: 0 });
    });

    it("still answers 202 when the lookup cannot reach storage: the processor settles the key", async () => {
      const s = await setup({ dynamoEndpoint: await closedEndpoint() });
      const response = await s.queued(keyed({ event_type: "t", payload: {} }));
      expect(response.statusCode, response.body).to.equal(202);
      expect(s.depth().visible).to.equal(1);
    });

    it("keeps the first event when a key is reused with another body before either is stored; the other can never be stored", async () => {
      const s = await setup();
      await s.queued(keyed({ event_type: "t", payload: { n: 1 } }));
      await s.queued(keyed({ event_type: "t", payload: { n: 2 } }));
      const { batch, failed } = await s.process();
      expect(failed).to.deep.equal([batch[1]!.MessageId]);
      const items = await s.items();
      expect(items).to.have.length(1);
      expect(items[0]!.payload).to.deep.equal({ n: 1 });
      expect(suite.logs.withMessage("message can never be stored; it goes to the dead-letter queue")[0]).to.include({ reason: "idempotency_key_reused" });
    });
  });

  describe("the processor", () => {
    it("stores each message with the conditional put and reports no failure; the metrics line counts them", async () => {
      const s = await setup();
      for (let i = 0; i < 3; i++) await s.queued(postEvent({ event_type: "t", payload: { i } }));
      const { failed } = await s.process();
      expect(failed).to.deep.equal([]);
      expect((await s.items()).map((i) => i.payload).sort((a, b) => (a as { i: number }).i - (b as { i: number }).i)).to.deep.equal([{ i: 0 }, { i: 1 }, { i: 2 }]);
      expect(suite.logs.withMessage("metrics").at(-1)).to.include({ EventsStored: 3, RedeliveriesCollapsed: 0, MessagesRetried: 0, MessagesUnprocessable: 0 });
    });

    it("stores the same message delivered twice (in one batch or two) as one item", async () => {
      const s = await setup();
      await s.queued(postEvent({ event_type: "t", payload: {} }));
      const [message] = await s.receive();
      await s.send(message!.Body!);
      const again = await s.receive();
      const { failed } = await s.process([message!, ...again]);
      expect(failed).to.deep.equal([]);
      await s.send(message!.Body!);
      await s.process();
      expect(await s.items()).to.have.length(1);
    });

    it("leaves an event acknowledged since as it is when its message is delivered again (no reset to pending)", async () => {
      const s = await setup();
      const response = await s.queued(postEvent({ event_type: "t", payload: {} }));
      const eventId = jsonBody<{ event_id: string }>(response).event_id;
      const [message] = await s.receive();
      await s.process([message!]);
      await suite.dynamo.doc.send(
        new UpdateCommand({
          TableName: s.table,
          Key: { event_id: eventId },
          UpdateExpression: "SET #s = :d, delivered_at = :t",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":d": "delivered", ":t": "2026-01-01T00:00:01.000Z" },
        }),
      );
      await s.send(message!.Body!); // SQS delivers at least once
      const { failed } = await s.process();
      expect(failed).to.deep.equal([]);
      const [item] = await s.items();
      expect(item).to.include({ status: "delivered", delivered_at: "2026-01-01T00:00:01.000Z" });
      expect(suite.logs.withMessage("metrics").at(-1)).to.include({ EventsStored: 0, RedeliveriesCollapsed: 1 });
    });

    it("reports only the unprocessable messages, logs each with its reason and makes it visible again at once so it reaches the DLQ quickly", async () => {
      const s = await setup();
      await s.queued(postEvent({ event_type: "good", payload: {} }, { headers: { "idempotency-key": "k-1" } }));
      const valid = decodeQueueMessage((await s.receive(0))[0]!.Body!, { ...CONFIG, nowMs: Date.now() }) as { ok: true; record: EventRecord };
      expect(valid.record.request_sha256).to.be.a("string");
      const tampered = encodeQueueMessage({ ...valid.record, payload: { changed: true } });
      await s.send("{not json");
      await s.send('{"v":2,"record":{}}');
      await s.send(tampered);
      await s.send(encodeQueueMessage({ ...valid.record, event_type: "bad type!" }));
      const batch = await s.receive();
      expect(batch).to.have.length(5);
      const { failed } = await s.process(batch);
      expect(failed).to.have.members(batch.filter((m) => m.Body !== encodeQueueMessage(valid.record)).map((m) => m.MessageId));
      expect(failed).to.have.length(4);
      expect(await s.items()).to.have.length(1);
      const reasons = suite.logs.withMessage("message can never be stored; it goes to the dead-letter queue").map((l) => l.reason);
      expect(reasons).to.have.members(["invalid_json", "unknown_envelope", "fingerprint_mismatch", "invalid_event"]);
      expect(suite.logs.withMessage("metrics").at(-1)).to.include({ EventsStored: 1, MessagesUnprocessable: 4 });
      // ChangeMessageVisibility 0: receivable again now, not after the queue's 60 s.
      const back = await s.receive();
      expect(back.map((m) => m.MessageId)).to.have.members(failed);
      expect(back.every((m) => m.Attributes!.ApproximateReceiveCount === "2")).to.equal(true);
    });

    it("sends a forged message on to the DLQ with a metric, never to the table: an admin source, an inherited attribute name, another key's idempotent id", async () => {
      const s = await setup();
      await s.queued(postEvent({ event_type: "good", payload: {} }, { headers: { "idempotency-key": "k-1" } }));
      const [message] = await s.receive(0);
      const { record } = decodeQueueMessage(message!.Body!, { ...CONFIG, nowMs: Date.now() }) as { ok: true; record: EventRecord };
      await s.send(encodeQueueMessage({ ...record, source: { api_key_id: "0123456789abcdef", role: "admin" } as EventRecord["source"] }));
      await s.send(encodeQueueMessage({ ...record, toString: "x" } as EventRecord));
      await s.send(encodeQueueMessage({ ...record, source: { api_key_id: "aaaaaaaaaaaaaaaa" } }));
      const batch = (await s.receive()).filter((m) => m.Body !== message!.Body);
      expect(batch).to.have.length(3);
      const { failed } = await s.process(batch);
      expect(failed).to.have.members(batch.map((m) => m.MessageId));
      expect(await s.items()).to.have.length(0);
      const reasons = suite.logs.withMessage("message can never be stored; it goes to the dead-letter queue").map((l) => l.reason);
      expect(reasons).to.have.members(["invalid_enrichment", "invalid_enrichment", "invalid_event_id"]);
      expect(suite.logs.withMessage("metrics").at(-1)).to.include({ EventsStored: 0, MessagesUnprocessable: 3 });
    });

    it("reports every message failed when storage is unreachable, leaves them invisible for the visibility timeout, and counts them as retried", async () => {
      const s = await setup({ dynamoEndpoint: await closedEndpoint() });
      await s.queued(postEvent({ event_type: "a", payload: {} }));
      await s.queued(postEvent({ event_type: "b", payload: {} }));
      const { batch, failed } = await s.process();
      expect(failed).to.have.members(batch.map((m) => m.MessageId));
      expect(s.depth()).to.deep.include({ visible: 0, notVisible: 2 });
      expect(suite.logs.withMessage("message will be retried")).to.have.length(2);
      expect(suite.logs.withMessage("metrics").at(-1)).to.include({ MessagesRetried: 2 });
    });

    it("writes through the shared event writer: a record it stores reads back exactly as direct mode would store it", async () => {
      const s = await setup();
      const response = await s.queued(postEvent({ event_type: "t", payload: { a: [1, "b", null, true] }, metadata: { tenant: "x" } }));
      await s.process();
      const eventId = jsonBody<{ event_id: string }>(response).event_id;
      const { Item } = await suite.dynamo.doc.send(new GetCommand({ TableName: s.table, Key: { event_id: eventId } }));
      const writer = createEventWriter({ repository: new EventRepository(suite.dynamo.doc, s.table), config: { statusIndexShards: 8 } });
      const expected = writer.prepare({ event_type: "t", payload: { a: [1, "b", null, true] }, metadata: { tenant: "x" } }, { origin: { api_key_id: "0123456789abcdef" }, requestId: String(Item!.request_id) });
      const { record } = expected as { record: EventRecord };
      expect(Object.keys(Item!).sort()).to.deep.equal(Object.keys(record).sort());
      expect(Item).to.include({ status: "pending", delivery_attempts: 0, schema_version: 1 });
      expect(Item!.source).to.deep.equal({ api_key_id: "0123456789abcdef" });
    });
  });
});

/** The event Lambda's SQS event source mapping builds, as the local stack's poller builds it. */
function sqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return { Records: messages.map((m) => sqsRecord(m, queueArn, REGION)) };
}
