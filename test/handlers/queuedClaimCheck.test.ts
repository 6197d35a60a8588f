/**
 * The queued claim check (ADR 0043), handlers against dynalite, the local SQS and the local S3
 * through the real SDK clients: in queued mode an event whose message would pass SQS's 1 MiB even
 * compressed has its payload object written first (the direct path's key and bytes), and a small
 * version-3 message names it; the processor reads the object back, checks it against the message
 * and the record as for any message, and stores an item naming that same object. A fault writing
 * the object is a 503 with nothing sent; a forged pointer (outside events/, another event's id, a
 * missing object, a digest or size that does not match) is never stored and goes to the DLQ.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { payloadDigest } from "../../handlers/lib/events/record";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { createQueueProcessor } from "../../handlers/lib/queue/processQueue";
import { CLAIM_CHECKED_MESSAGE_VERSION } from "../../handlers/lib/queue/queueMessage";
import { QueueSender } from "../../handlers/lib/queue/queueSender";
import { S3PayloadObjects } from "../../handlers/lib/store/payloadObjects";
import { EventRepository } from "../../handlers/lib/store/store";
import { createS3Endpoint } from "../../local/s3";
import { sqsRecord } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { githubStylePayload } from "../../cost/githubPayloads";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { httpEvent, postEvent } from "../support/events";
import { closedEndpoint } from "../support/faults";
import { jsonBody } from "../support/http";
import { captureLogs } from "../support/logs";
import { tempDir } from "../support/tempDirs";
import { webhookEvent, webhookFixture } from "../support/webhookHandler";
import { signDelivery } from "../support/webhookSenders";

const REGION = "eu-north-1";
const BUCKET = "payloads";
const SHARDS = 8;
const FIVE_MB = 5 * 1024 * 1024;
/** A payload whose POST /events body (with its envelope) stays within a 5 MiB maxEventBytes. */
const PAYLOAD_5MB = FIVE_MB - 100;
const CONTEXT = { functionName: "processor", awsRequestId: "test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe("queued mode claim check: the payload object first, a message that names it (ADR 0043)", function () {
  this.timeout(120_000);
  const suite = useDynalite();
  let sqs: LocalSqs;
  let client: SQSClient;
  let s3Server: Server;
  let s3: S3Client;
  let s3Dir: string;
  let queues = 0;
  const s3Config = (endpoint: string) => ({ endpoint, region: "local", forcePathStyle: true, maxAttempts: 1, credentials: TEST_CREDENTIALS });

  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
    s3Dir = tempDir("queued-claim-check-s3");
    s3Server = createS3Endpoint({ dir: s3Dir, buckets: [BUCKET] });
    await new Promise<void>((resolve) => s3Server.listen(0, "127.0.0.1", resolve));
    s3 = new S3Client(s3Config(`http://127.0.0.1:${(s3Server.address() as AddressInfo).port}`));
  });
  after(async () => {
    client.destroy();
    s3.destroy();
    await sqs.close();
    await new Promise<void>((resolve) => s3Server.close(() => resolve()));
  });

  /** The keys the local S3 holds (it answers no ListObjects: read its metadata files). */
  const objectKeys = () =>
    fs
      .readdirSync(path.join(s3Dir, BUCKET))
      .filter((f) => f.endsWith(".meta"))
      .map((f) => (JSON.parse(fs.readFileSync(path.join(s3Dir, BUCKET, f), "utf8")) as { key: string }).key);
  const containsPayload = (body: string | undefined, text: string) => body !== undefined && (body.includes(`"payload":${text},`) || body.includes(`"payload":${text}}`));

  /** A fresh table and queue; queued ingest over the bucket (or `objects`), the processor, and a reader. */
  async function setup(options: { objects?: S3PayloadObjects; maxEventBytes?: number } = {}) {
    const table = await suite.freshTable(EVENTS_TABLE, "queued-claim");
    const name = `claim-${++queues}`;
    sqs.store.createQueue(name, { VisibilityTimeout: 60 });
    const queueUrl = sqs.queueUrl(name);
    const bucket = new S3PayloadObjects(s3, BUCKET);
    const config = { eventsTable: table, statusIndexShards: SHARDS, maxEventBytes: options.maxEventBytes ?? FIVE_MB };
    const sender = new QueueSender(client, queueUrl);
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table, options.objects ?? bucket), config, queue: sender });
    // The processor of a stack whose POST /events takes 64 KB and webhooks 5 MiB.
    const processor = createQueueProcessor({ repository: new EventRepository(suite.dynamo.doc, table, bucket), sqs: client, queueUrl, statusIndexShards: SHARDS, maxEventBytes: config.maxEventBytes, maxWebhookBytes: FIVE_MB });
    const receive = async (): Promise<Message[]> =>
      (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ["All"] }))).Messages ?? [];
    const process = async (batch: Message[]) => {
      const response = await processor({ Records: batch.map((m) => sqsRecord(m, sqs.store.arnOf(name), REGION)) }, CONTEXT);
      return response.batchItemFailures.map((f) => f.itemIdentifier);
    };
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS, payloadObjects: bucket });
    const get = (eventId: string) => {
      const event = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
      event.pathParameters = { event_id: eventId };
      return read(event);
    };
    return { table, queueUrl, sender, ingest, processor, receive, process, get, items: () => suite.dynamo.scanAll(table), depth: () => sqs.store.counts(name) };
  }

  it("POST /events of 5 MB: the object is written, a small v3 message names it, and the processor stores an item naming that same object (one copy), read back byte for byte", async () => {
    const s = await setup();
    const text = githubStylePayload(PAYLOAD_5MB);
    const before = new Set(objectKeys());
    const response = await s.ingest(postEvent(`{"event_type":"github.push","payload":${text}}`));
    expect(response.statusCode, response.body).to.equal(202);
    const { event_id: id } = jsonBody<{ event_id: string }>(response);

    const [message] = await s.receive();
    expect(Buffer.byteLength(message!.Body!)).to.be.below(4096);
    const sent = JSON.parse(message!.Body!) as { v: number; record: Record<string, unknown>; payload_object: { key: string; sha256: string; bytes: number; payload_bytes: number } };
    expect(sent.v).to.equal(CLAIM_CHECKED_MESSAGE_VERSION);
    expect(sent.record).to.include({ event_id: id }).and.not.to.have.property("payload");
    expect(sent.payload_object.key).to.equal(`events/${id}/${sent.payload_object.sha256.slice(0, 32)}.json.br`);
    expect(sent.payload_object.payload_bytes).to.equal(PAYLOAD_5MB);
    const written = objectKeys().filter((k) => !before.has(k));
    expect(written).to.deep.equal([sent.payload_object.key]);

    expect(await s.process([message!])).to.deep.equal([]);
    const [item] = await s.items();
    expect(item).to.include({ event_id: id, storage_format: 2, payload_object: sent.payload_object.key, payload_bytes: PAYLOAD_5MB });
    expect(objectKeys().filter((k) => !before.has(k)), "stored once: no second object").to.deep.equal(written);
    expect(containsPayload((await s.get(id)).body, text)).to.equal(true);
  });

  it("queued ingest calls on the bucket only what its grant allows (s3:PutObject, s3:GetObject): a put for a new large event, a get for a stored duplicate's lookup, never a delete", async () => {
    const recordingClient = new S3Client(s3Config(`http://127.0.0.1:${(s3Server.address() as AddressInfo).port}`));
    const called: string[] = [];
    recordingClient.middlewareStack.add((next, context) => (args) => (called.push(`s3:${context.commandName!.replace(/Command$/, "")}`), next(args)), { step: "initialize" });
    const s = await setup({ objects: new S3PayloadObjects(recordingClient, BUCKET) });
    const body = `{"event_type":"github.push","payload":${githubStylePayload(PAYLOAD_5MB)}}`;
    const headers = { "idempotency-key": "large-1" };
    expect((await s.ingest(postEvent(body, { headers }))).statusCode).to.equal(202);
    expect(await s.process(await s.receive())).to.deep.equal([]);
    const repeat = await s.ingest(postEvent(body, { headers }));
    expect(repeat.statusCode, repeat.body).to.equal(200);
    expect(jsonBody(repeat)).to.include({ duplicate: true });
    recordingClient.destroy();
    // The grant, written literally (test/infra/ingestQueue.test.ts checks the policy has exactly these).
    expect(called).to.deep.equal(["s3:PutObject", "s3:GetObject"]);
  });

  it("the webhook route in queued mode: a signed 5 MB GitHub delivery is claim-checked, and the processor takes it under maxWebhookBytes although maxEventBytes is 64 KB", async () => {
    const s = await setup({ maxEventBytes: 65_536 });
    const fx = await webhookFixture(suite, { maxEventBytes: FIVE_MB, payloadObjects: new S3PayloadObjects(s3, BUCKET), queue: s.sender });
    const body = githubStylePayload(FIVE_MB);
    const source = fx.sourceFor("github");
    const response = await fx.handler(webhookEvent(source, await signDelivery("github", { secret: fx.secrets[source]![0]!, body, githubEvent: "pull_request" })));
    expect(response.statusCode, response.body).to.equal(202);
    const [message] = await s.receive();
    expect(JSON.parse(message!.Body!)).to.include({ v: CLAIM_CHECKED_MESSAGE_VERSION });
    expect(await s.process([message!])).to.deep.equal([]);
    const [item] = await s.items();
    expect(item!.payload_object).to.equal(JSON.parse(message!.Body!).payload_object.key);
    expect(containsPayload((await s.get(item!.event_id as string)).body, body)).to.equal(true);
  });

  it("keeps events that fit a message as they were: a 24 KB event travels inline, and no object is written", async () => {
    const s = await setup();
    const before = objectKeys().length;
    const response = await s.ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(24 * 1024)}}`));
    expect(response.statusCode).to.equal(202);
    const [message] = await s.receive();
    expect(JSON.parse(message!.Body!)).to.include({ v: 1 });
    expect(objectKeys()).to.have.length(before);
  });

  it("a fault writing the object: 503 with Retry-After, and nothing is sent", async () => {
    const s = await setup({ objects: new S3PayloadObjects(new S3Client(s3Config(await closedEndpoint())), BUCKET) });
    const response = await s.ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(PAYLOAD_5MB)}}`));
    expect(response.statusCode, response.body).to.equal(503);
    expect(response.headers?.["retry-after"]).to.equal("1");
    expect(jsonBody<{ code: string }>(response).code).to.equal("storage_unavailable");
    expect(s.depth().visible).to.equal(0);
    expect(await s.items()).to.deep.equal([]);
  });

  it("a fault sending the message after its object: 503 queue_unavailable, nothing stored, and the object left under events/, where the lifecycle rule expires it", async () => {
    const table = await suite.freshTable(EVENTS_TABLE, "queued-claim");
    const sender = new QueueSender(new SQSClient({ endpoint: await closedEndpoint(), region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 }), "http://127.0.0.1:9/000000000000/gone");
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table, new S3PayloadObjects(s3, BUCKET)), config: { eventsTable: table, statusIndexShards: SHARDS, maxEventBytes: FIVE_MB }, queue: sender });
    const before = new Set(objectKeys());
    const response = await ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(PAYLOAD_5MB - 3)}}`));
    expect(response.statusCode, response.body).to.equal(503);
    expect(jsonBody<{ code: string }>(response).code).to.equal("queue_unavailable");
    expect(await suite.dynamo.scanAll(table)).to.deep.equal([]);
    const orphans = objectKeys().filter((k) => !before.has(k));
    expect(orphans).to.have.length(1);
    expect(orphans[0]).to.match(/^events\//); // the lifecycle rule's prefix (test/infra/payloadBucket.test.ts)
  });

  describe("a forged pointer is never stored: it goes on to the dead-letter queue", () => {
    /** A genuine v3 message and its object, not yet processed. */
    async function genuine() {
      const s = await setup();
      // Random bytes barely compress: past SQS's 1 MiB even as v2, so the message is v3.
      const response = await s.ingest(postEvent({ event_type: "blob", payload: { blob: randomBytes(900 * 1024).toString("base64") } }));
      expect(response.statusCode, response.body).to.equal(202);
      const [message] = await s.receive();
      const sent = JSON.parse(message!.Body!) as { v: number; record: { event_id: string }; payload_object: { key: string; sha256: string; bytes: number; payload_bytes: number } };
      return { s, sent };
    }
    /** Sends `body`, runs the processor on it, and expects a permanent refusal for `reason` with nothing stored. */
    async function expectRefused(s: Awaited<ReturnType<typeof setup>>, body: unknown, reason: string) {
      await client.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: JSON.stringify(body) }));
      const batch = await s.receive();
      expect(batch).to.have.length(1);
      const logs = captureLogs();
      try {
        expect(await s.process(batch)).to.deep.equal([batch[0]!.MessageId]);
      } finally {
        logs.restore();
      }
      expect(logs.withMessage("message can never be stored; it goes to the dead-letter queue").map((l) => l.reason)).to.deep.equal([reason]);
      expect(await s.items()).to.deep.equal([]);
      // Made visible again at once, so it reaches the DLQ after maxReceiveCount quick receives.
      expect(s.depth().visible).to.equal(1);
    }
    const bytesOf = async (key: string) => fs.readFileSync(path.join(s3Dir, BUCKET, `${createHash("sha256").update(key).digest("hex")}.body`));

    it("an object outside events/ (there, with the very bytes and digest the message names)", async () => {
      const { s, sent } = await genuine();
      const key = `secrets/${sent.record.event_id}/${sent.payload_object.sha256.slice(0, 32)}.json.br`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await bytesOf(sent.payload_object.key) }));
      await expectRefused(s, { ...sent, payload_object: { ...sent.payload_object, key } }, "invalid_payload_object");
    });

    it("another event's object (its whole, matching pointer)", async () => {
      const { s, sent } = await genuine();
      const other = await genuine();
      await expectRefused(s, { ...sent, payload_object: other.sent.payload_object }, "invalid_payload_object");
    });

    it("a missing object", async () => {
      const { s, sent } = await genuine();
      const sha256 = "0".repeat(64);
      await expectRefused(s, { ...sent, payload_object: { ...sent.payload_object, sha256, key: `events/${sent.record.event_id}/${sha256.slice(0, 32)}.json.br` } }, "payload_object_missing");
    });

    it("an object whose bytes do not match the digest the message names", async () => {
      const { s, sent } = await genuine();
      const sha256 = payloadDigest(Buffer.from("what the sender claims"));
      const key = `events/${sent.record.event_id}/${sha256.slice(0, 32)}.json.br`;
      // An object under the right key with other bytes (of the same length).
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(sent.payload_object.bytes, 7) }));
      await expectRefused(s, { ...sent, payload_object: { ...sent.payload_object, sha256, key } }, "payload_object_mismatch");
    });

    it("an object larger than the message says (refused before its body is read)", async () => {
      const { s, sent } = await genuine();
      await expectRefused(s, { ...sent, payload_object: { ...sent.payload_object, bytes: sent.payload_object.bytes - 1 } }, "payload_object_mismatch");
    });
  });
});
