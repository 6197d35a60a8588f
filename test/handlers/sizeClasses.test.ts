/**
 * Every size class through every door (issue 22): 300 B, 24 KB, 390 KB, 1 MB and 5 MB GitHub-style
 * payloads (GitHub's pull_request.opened example replicated to size, with an integer a double would
 * round) through POST /events, the signed webhook route, queued mode (ingest → SQS → processor, for
 * both), and the SNS pipeline's stages; then read back through GET /events/{id}, GET /events and
 * GET /inbox, and forwarded by the EventBridge consumer. Handlers run against dynalite, the local
 * S3 (the claim check) and the local SQS through the real SDK clients; the consumer is the closure
 * Pulumi serializes, run in a fresh process. Every payload's JSON text must come back byte for
 * byte, digits included. Where AWS's own limit refuses a size (SNS: 256 KiB per message, and Step
 * Functions' 256 KiB input behind it), the test asserts that refusal instead (AWS_LIMITS, ADR 0043).
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { GetItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { acceptMessage, PipelineError, storeAccepted, type BufferedMessage } from "../../handlers/lib/pipeline/pipeline";
import { AWS_LIMITS } from "../../handlers/lib/primitives/limits";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { createQueueProcessor } from "../../handlers/lib/queue/processQueue";
import { QUEUE_MESSAGE_MAX_BYTES } from "../../handlers/lib/queue/queueMessage";
import { QueueSender } from "../../handlers/lib/queue/queueSender";
import { createEventWriter } from "../../handlers/lib/store/eventWriter";
import { S3PayloadObjects } from "../../handlers/lib/store/payloadObjects";
import { EventRepository } from "../../handlers/lib/store/store";
import type { LocalPipeline } from "../../local/pipeline";
import { createS3Endpoint } from "../../local/s3";
import { createSnsEndpoint } from "../../local/sns";
import { sqsRecord } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { githubStylePayload } from "../../cost/githubPayloads";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { codeOf, runInFreshProcess, startFakeEventBridge, type FakeEventBridge } from "../support/eventBridgeForwarder";
import { httpEvent, postEvent } from "../support/events";
import { jsonBody } from "../support/http";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";
import { tempDir } from "../support/tempDirs";
import { webhookEvent, webhookFixture, type WebhookFixture } from "../support/webhookHandler";
import { signDelivery } from "../support/webhookSenders";

const REGION = "eu-north-1";
const BUCKET = "payloads";
/** As the webhook fixture enriches. */
const SHARDS = 8;
/** The largest body either route may be configured to take (LIMITS.maxConfigurableBodyBytes), written literally. */
const MAX_BODY = 5 * 1024 * 1024;
const PIPELINE = "sizes";
const TOPIC = `arn:aws:sns:${REGION}:123456789012:event-ingestion-dev-${PIPELINE}-topic`;
const CONTEXT = { functionName: "processor", awsRequestId: "test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** The size classes of issue 22; "5 MB" leaves room for the POST /events envelope under 5 MiB. */
const SIZE_CLASSES = [
  { name: "300 B", bytes: 300 },
  { name: "24 KB", bytes: 24 * 1024 },
  { name: "390 KB", bytes: 390 * 1024 },
  { name: "1 MB", bytes: 1_000_000 },
  { name: "5 MB", bytes: 5_000_000 },
] as const;

/** Integers beyond signed 64 bits, as the forwarder sends them (strings of the same digits, ADR 0023) and as the pipeline takes them (ADR 0018). */
const quoteBigIntegers = (text: string) => text.replace(/"big_id":(\d+)/g, '"big_id":"$1"');

/** The payload text of the event `eventId` in a response body is exactly `text` (publicEvent puts `payload` after `event_id` and `event_type`). */
function payloadOf(body: string, eventId: string, text: string): boolean {
  const at = body.indexOf(`"event_id":"${eventId}"`);
  if (at < 0) return false;
  const start = body.indexOf('"payload":', at) + '"payload":'.length;
  return body.startsWith(text, start) && [",", "}"].includes(body[start + text.length]!);
}

describe("every size class through every door (issue 22, ADR 0035, ADR 0043)", function () {
  // A 5 MB body through several doors and reads: generous, never a timing assertion.
  this.timeout(300_000);
  const suite = useDynalite();
  let s3Server: Server;
  let s3: S3Client;
  let sqs: LocalSqs;
  let sqsClient: SQSClient;
  let sns: Server;
  let snsClient: SNSClient;
  /** What the local SNS endpoint accepted for the pipeline's topic, as it would go to the buffer. */
  const published: { message: string; messageId: string }[] = [];
  let eventBridge: FakeEventBridge;
  let forwarderCode: string;
  let queues = 0;

  before(async () => {
    const s3Dir = tempDir("size-classes-s3");
    s3Server = createS3Endpoint({ dir: s3Dir, buckets: [BUCKET] });
    await new Promise<void>((resolve) => s3Server.listen(0, "127.0.0.1", resolve));
    s3 = new S3Client({ endpoint: `http://127.0.0.1:${(s3Server.address() as AddressInfo).port}`, region: REGION, forcePathStyle: true, credentials: TEST_CREDENTIALS });
    sqs = await startLocalSqs({ port: 0, region: REGION });
    sqsClient = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
    // The local SNS endpoint answers Publish as SNS does (sizes included); a stand-in topic records what it accepts.
    const topic = { topicArn: TOPIC, publish: (message: string) => String(published.push({ message, messageId: `sns-${published.length + 1}` })) };
    sns = createSnsEndpoint([topic as unknown as LocalPipeline]);
    await new Promise<void>((resolve) => sns.listen(0, "127.0.0.1", resolve));
    snsClient = new SNSClient({ endpoint: `http://127.0.0.1:${(sns.address() as AddressInfo).port}`, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    eventBridge = await startFakeEventBridge();
    const stack = await sharedStack("dev", EVERYTHING_ON);
    forwarderCode = await codeOf(stack.one("aws:lambda/function:Function", (f) => f.inputs.name === "event-ingestion-dev-consumer-forward"));
  });
  after(async () => {
    s3?.destroy();
    sqsClient?.destroy();
    snsClient?.destroy();
    await sqs?.close();
    await eventBridge?.close();
    await new Promise<void>((resolve) => (s3Server ? s3Server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (sns ? sns.close(() => resolve()) : resolve()));
  });

  for (const size of SIZE_CLASSES) {
    describe(size.name, () => {
      const text = githubStylePayload(size.bytes);
      /** Every event this class stored, by door: its id and the payload text it must come back as. */
      const stored: { door: string; eventId: string; text: string }[] = [];
      let table: string;
      let objects: S3PayloadObjects;
      let queueUrl: string;
      let queueName: string;

      before(async () => {
        table = await suite.freshTable(EVENTS_TABLE, "sizes");
        objects = new S3PayloadObjects(s3, BUCKET);
        queueName = `sizes-${++queues}`;
        sqs.store.createQueue(queueName, { VisibilityTimeout: 60 });
        queueUrl = sqs.queueUrl(queueName);
      });

      const repository = () => new EventRepository(suite.dynamo.doc, table, objects);
      const config = () => ({ eventsTable: table, statusIndexShards: SHARDS, maxEventBytes: MAX_BODY });
      const reader = () => createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS, payloadObjects: objects });
      const webhooks = (queue?: QueueSender): Promise<WebhookFixture> =>
        webhookFixture(suite, { table, maxEventBytes: MAX_BODY, payloadObjects: objects, ...(queue ? { queue } : {}) });
      const deliver = async (fx: WebhookFixture, deliveryId: string) => {
        const source = fx.sourceFor("github");
        const delivery = await signDelivery("github", { secret: fx.secrets[source]![0]!, body: text, deliveryId, githubEvent: "pull_request" });
        return fx.handler(webhookEvent(source, delivery));
      };
      /** Receives what is queued, runs the processor (maxEventBytes and maxWebhookBytes 5 MiB) and deletes what it stored, as Lambda's mapping does. */
      const drainQueue = async () => {
        const processor = createQueueProcessor({ repository: repository(), sqs: sqsClient, queueUrl, statusIndexShards: SHARDS, maxEventBytes: MAX_BODY, maxWebhookBytes: MAX_BODY });
        const batch: Message[] = (await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ["All"] }))).Messages ?? [];
        const response = await processor({ Records: batch.map((m) => sqsRecord(m, sqs.store.arnOf(queueName), REGION)) }, CONTEXT);
        expect(response.batchItemFailures, JSON.stringify(suite.logs.lines.filter((l) => l.level !== "INFO"))).to.deep.equal([]);
        if (batch.length > 0) await sqsClient.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        return batch;
      };

      it("POST /events (maxEventBytes 5 MiB): 201", async () => {
        const response = await createIngestHandler({ repository: repository(), config: config() })(postEvent(`{"event_type":"size.post","payload":${text}}`));
        expect(response.statusCode, response.body).to.equal(201);
        stored.push({ door: "POST /events", eventId: jsonBody<{ event_id: string }>(response).event_id, text });
      });

      it("POST /webhooks/{source}, signed by @octokit/webhooks-methods (maxWebhookBytes 5 MiB): 201", async () => {
        const response = await deliver(await webhooks(), `direct-${size.bytes}`);
        expect(response.statusCode, response.body).to.equal(201);
        stored.push({ door: "webhook", eventId: jsonBody<{ event_id: string }>(response).event_id, text });
      });

      it("queued mode, POST /events and the webhook route: 202, each message within SQS's 1 MiB, stored by the processor", async () => {
        const sender = new QueueSender(sqsClient, queueUrl);
        const posted = await createIngestHandler({ repository: repository(), config: config(), queue: sender })(postEvent(`{"event_type":"size.queued","payload":${text}}`));
        expect(posted.statusCode, posted.body).to.equal(202);
        const delivered = await deliver(await webhooks(sender), `queued-${size.bytes}`);
        expect(delivered.statusCode, delivered.body).to.equal(202);
        const batch = await drainQueue();
        expect(batch).to.have.length(2);
        for (const message of batch) expect(Buffer.byteLength(message.Body!)).to.be.at.most(QUEUE_MESSAGE_MAX_BYTES);
        // Only the 5 MB class passes 1 MiB even compressed: its messages name the payload object (ADR 0043).
        expect(batch.map((m) => (JSON.parse(m.Body!) as { v: number }).v)).to.deep.equal(size.bytes === 5_000_000 ? [3, 3] : [1, 1]);
        const ids = [jsonBody<{ event_id: string }>(posted).event_id, jsonBody<{ event_id: string }>(delivered).event_id];
        const items = await suite.dynamo.scanAll(table);
        for (const id of ids) expect(items.map((i) => i.event_id), "stored by the processor").to.include(id);
        stored.push({ door: "queued POST /events", eventId: ids[0]!, text }, { door: "queued webhook", eventId: ids[1]!, text });
      });

      it(
        size.bytes <= AWS_LIMITS.snsMessageBytes
          ? "the SNS pipeline: Publish, Validate and Store (integers past a double as strings, as the pipeline requires)"
          : "the SNS pipeline refuses it at Publish: SNS takes 256 KiB per message (AWS_LIMITS.snsMessageBytes), and Step Functions' input no more",
        async () => {
          // The pipeline's stages exchange JSON as doubles, so it refuses digits a double would lose (ADR 0018).
          const exact = quoteBigIntegers(text);
          const message = `{"event_type":"size.pipeline","payload":${exact}}`;
          const publish = () => snsClient.send(new PublishCommand({ TopicArn: TOPIC, Message: message }));
          if (Buffer.byteLength(message) > AWS_LIMITS.snsMessageBytes) {
            const refusal = await publish().then(() => undefined, (error: unknown) => error as { name: string; message: string; $metadata: { httpStatusCode: number } });
            expect(refusal, "refused").not.to.equal(undefined);
            // SNS's InvalidParameter ("Message too long"); a request too large to be a message at the
            // limit, form-encoded, the local endpoint refuses before reading it (413 RequestEntityTooLarge).
            expect(["InvalidParameterException", "RequestEntityTooLarge"]).to.include(refusal!.name);
            if (refusal!.name === "InvalidParameterException") expect(refusal!.message).to.equal("Invalid parameter: Message too long");
            expect(published.map((p) => p.message), "nothing published").not.to.include(message);
            return;
          }
          await publish();
          const { messageId } = published.at(-1)!;
          const buffered: BufferedMessage = {
            messageId: `sqs-${messageId}`,
            body: JSON.stringify({ Type: "Notification", MessageId: messageId, TopicArn: TOPIC, Message: published.at(-1)!.message, Timestamp: new Date().toISOString() }),
          };
          const options = { pipeline: PIPELINE, maxEventBytes: AWS_LIMITS.snsMessageBytes };
          if (text !== exact) {
            const unquoted = { ...buffered, body: JSON.stringify({ ...JSON.parse(buffered.body), Message: `{"event_type":"size.pipeline","payload":${text}}` }) };
            expect(() => acceptMessage(unquoted, options)).to.throw(PipelineError, /number_not_exact/);
          }
          const writer = createEventWriter({ repository: repository(), config: { statusIndexShards: SHARDS } });
          const result = await storeAccepted(acceptMessage(buffered, options), writer);
          expect(result.duplicate).to.equal(false);
          stored.push({ door: "SNS pipeline", eventId: result.event_id, text: exact });
        },
      );

      it("GET /events/{id} returns each door's payload byte for byte", async () => {
        const doors = ["POST /events", "webhook", "queued POST /events", "queued webhook", ...(size.bytes <= AWS_LIMITS.snsMessageBytes ? ["SNS pipeline"] : [])];
        expect(stored.map((s) => s.door), "every door that can carry this size stored it").to.deep.equal(doors);
        const read = reader();
        for (const { door, eventId, text: expected } of stored) {
          const event = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
          event.pathParameters = { event_id: eventId };
          const response = await read(event);
          expect(response.statusCode, door).to.equal(200);
          expect(payloadOf(response.body!, eventId, expected), `${door}: payload exactly as sent`).to.equal(true);
        }
      });

      for (const route of ["GET /events", "GET /inbox"] as const) {
        it(`${route} lists each door's event with its payload byte for byte (page by page: a page ends before 4 MiB of payloads)`, async () => {
          const read = reader();
          const found = new Set<string>();
          let cursor: string | undefined;
          for (let page = 0; page < 20; page++) {
            const event = httpEvent({ routeKey: route, headers: { "content-type": undefined } });
            event.queryStringParameters = { limit: "100", ...(cursor ? { cursor } : {}) };
            const response = await read(event);
            expect(response.statusCode, response.body?.slice(0, 300)).to.equal(200);
            for (const { eventId, text: expected } of stored) if (payloadOf(response.body!, eventId, expected)) found.add(eventId);
            cursor = jsonBody<{ next_cursor: string | null }>(response).next_cursor ?? undefined;
            if (!cursor) break;
          }
          expect([...found].sort()).to.deep.equal(stored.map((s) => s.eventId).sort());
        });
      }

      it("the EventBridge forwarder sends each event whole (integers past 64 bits as strings) or, claim-checked, with payload_omitted: too_large", async () => {
        eventBridge.reset();
        const images = await Promise.all(stored.map(async ({ eventId }) => streamImage(table, eventId)));
        const records = images.map((image, i) => ({ eventID: `e-${i}`, eventName: "INSERT", eventSource: "aws:dynamodb", awsRegion: REGION, dynamodb: { NewImage: image, StreamViewType: "NEW_IMAGE" } }));
        const run = await runInFreshProcess(forwarderCode, { Records: records }, eventBridge.url);
        expect(run.code, run.stderr).to.equal(0);
        const entries = eventBridge.calls.flatMap((c) => c.Entries);
        expect(entries).to.have.length(stored.length);
        stored.forEach(({ door, eventId, text: expected }, i) => {
          const detail = entries.find((e) => e.Detail.includes(`"event_id":"${eventId}"`))!.Detail;
          if (images[i]!.payload_object !== undefined) {
            // In S3: over 64 KB even compressed, documented as too large to forward (ADR 0035).
            expect(JSON.parse(detail), door).to.include({ payload_omitted: "too_large" }).and.not.to.have.property("payload");
          } else {
            expect(payloadOf(detail, eventId, quoteBigIntegers(expected)), `${door}: forwarded whole`).to.equal(true);
            if (expected.includes('"big_id":1')) expect(JSON.parse(detail).string_encoded_numbers).to.include("/payload/big_id");
          }
        });
        // Which classes are forwarded whole is the stored form's choice: 300 B and 24 KB stay in the item.
        expect(images.every((image) => image.payload_object === undefined), "forwarded whole").to.equal(size.bytes <= 24 * 1024);
      });

      it("acknowledging each event leaves its payload as it was (the next class's inbox starts empty)", async () => {
        const ack = createAckHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS });
        for (const { door, eventId } of stored) {
          const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
          event.pathParameters = { event_id: eventId };
          expect((await ack(event)).statusCode, door).to.equal(200);
        }
        const read = reader();
        for (const { door, eventId, text: expected } of stored) {
          const event = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
          event.pathParameters = { event_id: eventId };
          expect(payloadOf((await read(event)).body!, eventId, expected), door).to.equal(true);
        }
      });
    });
  }

  /** The item as DynamoDB's stream hands it to Lambda: attribute values, binary ones base64 (Lambda's JSON). */
  async function streamImage(table: string, eventId: string): Promise<Record<string, AttributeValue | { B: string }>> {
    const { Item } = await suite.dynamo.client.send(new GetItemCommand({ TableName: table, Key: { event_id: { S: eventId } }, ConsistentRead: true }));
    return Object.fromEntries(Object.entries(Item!).map(([name, value]) => [name, value.B ? { B: Buffer.from(value.B).toString("base64") } : value]));
  }
});
