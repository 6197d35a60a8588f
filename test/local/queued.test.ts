/**
 * Queued mode end to end over HTTP: the local stack (gateway emulator, the deploy bundles,
 * dynalite, the local SQS and the event-source poller feeding the processor bundle).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { runRedriveCli } from "../../cli/redrive";
import { decodeQueueMessage, encodeQueueMessage } from "../../handlers/lib/queue/queueMessage";
import type { EventRecord } from "../../handlers/lib/events/record";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { runStorageOutage } from "../../soak/storageOutage";
import { closedEndpoint } from "../support/faults";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { WebhookSourceStore } from "../../local/webhookStore";
import { sampleBody, signDelivery } from "../support/webhookSenders";

const MAX_RECEIVE_COUNT = 3;
/** A webhook source configured before the start, so the webhook function verifies its deliveries. */
const WEBHOOK = { name: "github", secret: "e2e-queued-webhook-secret-0123456789" } as const;

describe("queued mode over HTTP (local stack)", function () {
  this.timeout(90_000);
  let dataDir: string;
  let stack: LocalStack;
  let key: string;
  let sqs: SQSClient;
  let logs: HandlerLogs;

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    new WebhookSourceStore(dataDir).put(WEBHOOK.name, "github", WEBHOOK.secret);
    // A visibility timeout of 5 s instead of 181 s, so retries show within the test.
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { ingestMode: "queued", queueMaxReceiveCount: MAX_RECEIVE_COUNT }, queueVisibilitySeconds: 5 });
    key = fs.readFileSync(stack.keyFile, "utf8").trim();
    sqs = new SQSClient({ endpoint: stack.queue!.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });
  // A test that fails while the processor is paused must not stall the ones after it.
  afterEach(() => stack.queue!.resumeProcessor());
  after(async () => {
    sqs?.destroy();
    await stack?.close();
    logs.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const depth = async (queueUrl: string) => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
    return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
  };
  /** Polls until `check` holds; bounded, never a timing assertion. */
  const eventually = async <T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean, seconds = 30): Promise<T> => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const value = await probe();
      if (check(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${seconds} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const read = (eventId: string) => call(stack, "GET", `/events/${eventId}`, { key });
  const storedCount = async () => (await localDocumentClient(stack).send(new ScanCommand({ TableName: stack.eventsTable, Select: "COUNT", ConsistentRead: true }))).Count ?? 0;

  it("answers 202 status queued; GET /events/{id} answers 404 until the processor stored it, then 200 with the payload exactly as sent", async () => {
    await stack.queue!.pauseProcessor();
    const posted = await call(stack, "POST", "/events", { key, body: '{"event_type":"e2e.queued","payload":{"big":123456789012345678901234567890}}' });
    expect(posted.status, posted.text).to.equal(202);
    const { event_id: eventId, status } = posted.json<{ event_id: string; status: string }>();
    expect(status).to.equal("queued");
    expect(posted.headers.get("location")).to.equal(`/events/${eventId}`);
    const before = await read(eventId);
    expect(before.status).to.equal(404);
    expect(before.json()).to.include({ code: "event_not_found" });

    stack.queue!.resumeProcessor();
    const after = await eventually("GET after processing", () => read(eventId), (r) => r.status === 200);
    expect(after.text).to.include('"payload":{"big":123456789012345678901234567890}');
    expect(after.json()).to.include({ event_id: eventId, status: "pending" });
  });

  it("answers a signed GitHub delivery to POST /webhooks/{source} 202 queued, stores it once, and answers its redelivery after storage 200 duplicate", async () => {
    await stack.queue!.pauseProcessor();
    const before = await storedCount();
    const body = sampleBody("github");
    const deliver = async () => {
      const delivery = await signDelivery("github", { secret: WEBHOOK.secret, body, deliveryId: "e2e-webhook-queued", githubEvent: "pull_request" });
      return call(stack, "POST", `/webhooks/${WEBHOOK.name}`, { body: delivery.body, headers: delivery.headers });
    };
    const queued = await deliver();
    expect(queued.status, queued.text).to.equal(202);
    const { event_id: eventId, status } = queued.json<{ event_id: string; status: string }>();
    expect(status).to.equal("queued");
    expect((await read(eventId)).status).to.equal(404);
    expect(await depth(stack.queue!.queueUrl)).to.equal(1);

    stack.queue!.resumeProcessor();
    const stored = await eventually("the webhook event stored", () => read(eventId), (r) => r.status === 200);
    expect(stored.json()).to.deep.include({ event_type: "pull_request.opened", source: { webhook: WEBHOOK.name, delivery_id: "e2e-webhook-queued" } });
    const again = await deliver();
    expect(again.status, again.text).to.equal(200);
    expect(again.json()).to.include({ duplicate: true, event_id: eventId });
    expect(await depth(stack.queue!.queueUrl)).to.equal(0);
    expect(await storedCount()).to.equal(before + 1);
  });

  it("queues a batch (202) and every item becomes readable", async () => {
    const events = Array.from({ length: 15 }, (_, i) => ({ event_type: "e2e.batch", payload: { i } }));
    const posted = await call(stack, "POST", "/events/batch", { key, body: { events } });
    expect(posted.status, posted.text).to.equal(202);
    const results = posted.json<{ results: { status: number; event_id: string }[] }>().results;
    expect(results.map((r) => r.status)).to.deep.equal(events.map(() => 202));
    for (const { event_id } of results) await eventually(`GET ${event_id}`, () => read(event_id), (r) => r.status === 200);
  });

  it("stores one item for the same request sent twice with an Idempotency-Key, and for the same message delivered twice", async () => {
    const before = await storedCount();
    const headers = { "idempotency-key": "e2e-once" };
    const first = await call(stack, "POST", "/events", { key, headers, body: { event_type: "e2e.once", payload: { n: 1 } } });
    const second = await call(stack, "POST", "/events", { key, headers, body: { event_type: "e2e.once", payload: { n: 1 } } });
    expect([202, 200]).to.include(first.status);
    expect([202, 200]).to.include(second.status);
    const eventId = first.json<{ event_id: string }>().event_id;
    expect(second.json<{ event_id: string }>().event_id).to.equal(eventId);
    await eventually("the keyed event", () => read(eventId), (r) => r.status === 200);

    // The same message body twice on the queue, as an at-least-once redelivery would be.
    await stack.queue!.pauseProcessor();
    await call(stack, "POST", "/events", { key, body: { event_type: "e2e.twice", payload: {} } });
    const [message] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queue!.queueUrl, VisibilityTimeout: 0 }))).Messages!;
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queue!.queueUrl, MessageBody: message!.Body! }));
    stack.queue!.resumeProcessor();
    await eventually("the queue to drain", () => depth(stack.queue!.queueUrl), (n) => n === 0);
    expect(await storedCount()).to.equal(before + 2);
  });

  it(`moves a poison message to the DLQ after ${MAX_RECEIVE_COUNT} receives without holding up other events; npm run redrive brings DLQ messages back`, async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queue!.queueUrl, MessageBody: '{"v":1,"record":"not an event"}' }));
    const ok = await call(stack, "POST", "/events", { key, body: { event_type: "e2e.neighbour", payload: {} } });
    await eventually("the neighbour", () => read(ok.json<{ event_id: string }>().event_id), (r) => r.status === 200);
    await eventually("the poison message in the DLQ", () => depth(stack.queue!.deadLetterQueueUrl), (n) => n === 1);
    const attempts = logs.lines.filter((l) => l.message === "message can never be stored; it goes to the dead-letter queue" && l.reason === "unknown_envelope");
    expect(attempts.map((l) => l.receive_count)).to.deep.equal([1, 2, 3]);

    // An event that ran out of receives while storage was down: valid, waiting in the DLQ.
    await stack.queue!.pauseProcessor();
    await call(stack, "POST", "/events", { key, body: { event_type: "e2e.casualty", payload: { lost: false } } });
    const [casualty] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queue!.queueUrl, VisibilityTimeout: 0 }))).Messages!;
    const record = (decodeQueueMessage(casualty!.Body!, { ...stack.settings, nowMs: Date.now() }) as { ok: true; record: EventRecord }).record;
    await sqs.send(new PurgeQueueCommand({ QueueUrl: stack.queue!.queueUrl }));
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queue!.deadLetterQueueUrl, MessageBody: encodeQueueMessage(record) }));
    expect(await depth(stack.queue!.deadLetterQueueUrl)).to.equal(2);
    stack.queue!.resumeProcessor();

    const result = await runRedriveCli(["--local", "--json"], { DATA_DIR: dataDir });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.include({ status: "COMPLETED", moved: 2, waiting: 2 });
    await eventually("the redriven event", () => read(record.event_id), (r) => r.status === 200);
    // The poison message cannot be stored; it comes back to the DLQ after its receives.
    await eventually("the poison message back in the DLQ", () => depth(stack.queue!.deadLetterQueueUrl), (n) => n === 1);

    const empty = await runRedriveCli(["--local", "--json"], { DATA_DIR: dataDir });
    expect(JSON.parse(empty.stdout).status).to.equal("COMPLETED");
  });

  it("keeps a queued event across a restart of the stack and stores it after", async () => {
    await stack.queue!.pauseProcessor();
    const posted = await call(stack, "POST", "/events", { key, body: { event_type: "e2e.restart", payload: {} } });
    expect(posted.status).to.equal(202);
    await stack.close();
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { ingestMode: "queued", queueMaxReceiveCount: MAX_RECEIVE_COUNT }, queueVisibilitySeconds: 5 });
    sqs.destroy();
    sqs = new SQSClient({ endpoint: stack.queue!.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await eventually("the event after the restart", () => read(posted.json<{ event_id: string }>().event_id), (r) => r.status === 200);
  });
});

describe("queued mode: storage refuses every write while clients post (short version; npm run soak runs 1,000 events over 30 s)", function () {
  this.timeout(120_000);
  it("answers every client 202, none 5xx, and stores each accepted event exactly once after storage recovers", async () => {
    const logs = captureHandlerLogs();
    try {
      const report = await runStorageOutage({ events: 40, outageSeconds: 6, queueVisibilitySeconds: 5, queueMaxReceiveCount: 10, settleSeconds: 60 });
      expect(report.statuses).to.deep.equal({ 202: 40 });
      expect(report.refusedWrites).to.be.greaterThan(0);
      expect(report).to.include({ stored: 40, missing: 0, duplicatesStored: 0, deadLetters: 0, ok: true });
    } finally {
      logs.restore();
    }
  });
});

describe("npm run redrive: arguments and failures", () => {
  it("--help prints the usage and exits 0", async () => {
    const result = await runRedriveCli(["--help"]);
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.match(/^usage: npm run redrive -- /);
  });

  it("exits 2 with the usage for --stack without a region, and for --local with --stack", async () => {
    expect((await runRedriveCli(["--stack", "prod"], {})).stderr).to.match(/--stack needs --region/);
    expect((await runRedriveCli(["--stack", "prod"], {})).exitCode).to.equal(2);
    expect((await runRedriveCli(["--local", "--stack", "prod", "--region", "eu-north-1"])).exitCode).to.equal(2);
  });

  it("exits 1 with a hint when no local SQS is running", async () => {
    const result = await runRedriveCli(["--endpoint", await closedEndpoint()]);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr).to.match(/^redrive: /);
  });
});
