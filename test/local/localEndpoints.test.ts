/**
 * The local stack's AWS endpoints against hostile or malformed requests (issue 20, items 2, 3, 6):
 * every request body is capped at the real service's limit plus headroom and refused in the
 * service's own error shape; a malformed JSON-protocol request gets SQS's 400, never a 500 with JS
 * error text; ReceiveMessage bounds VisibilityTimeout as SQS does; the local SSM serves secrets to
 * the stack's own functions only; and a clean stop of the event-source poller hands back what it
 * received but never processed.
 */
import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { LOCAL_SQS_MAX_REQUEST_BYTES } from "../../local/sqs/queues";
import { startEventSourcePoller } from "../../local/sqs/poller";
import { createSsmEndpoint, LOCAL_SSM_MAX_REQUEST_BYTES } from "../../local/ssm";
import { createSnsEndpoint, LOCAL_SNS_MAX_REQUEST_BYTES } from "../../local/sns";
import { localParameterName, WebhookSourceStore } from "../../local/webhookStore";
import type { LocalFunction } from "../../local/lambdaHost";
import { tempDir } from "../support/tempDirs";

const REGION = "eu-north-1";
const DUMMY = { accessKeyId: "local", secretAccessKey: "local" };

/** POSTs `body` (streamed in 64 KiB chunks, no Content-Length unless `announce`) and reads the answer. */
function post(endpoint: string, headers: Record<string, string>, body: Buffer | string, announce?: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, method: "POST", path: "/", headers: { host: url.host, ...headers, ...(announce === undefined ? {} : { "content-length": String(announce) }) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    request.on("error", reject);
    if (announce !== undefined) return void request.end(); // the size alone must be enough to refuse
    const data = Buffer.from(body);
    for (let at = 0; at < data.length; at += 65_536) request.write(data.subarray(at, at + 65_536));
    request.end();
  });
}

const SQS_HEADERS = { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" };

describe("local SQS: request bodies, malformed requests and ReceiveMessage bounds", function () {
  this.timeout(30_000);
  let sqs: LocalSqs;
  let client: SQSClient;
  let queueUrl: string;

  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: DUMMY });
    queueUrl = (await client.send(new CreateQueueCommand({ QueueName: "limits" }))).QueueUrl!;
  });
  after(async () => {
    client.destroy();
    await sqs.close();
  });
  const stillServes = async () => expect((await post(sqs.endpoint, SQS_HEADERS, "{}")).status).to.equal(200);

  it("refuses a body one byte over its cap with 413 in SQS's JSON error shape, buffers none of it, and keeps serving", async () => {
    const answer = await post(sqs.endpoint, SQS_HEADERS, Buffer.alloc(LOCAL_SQS_MAX_REQUEST_BYTES + 1, 0x20));
    expect(answer.status).to.equal(413);
    expect(JSON.parse(answer.text)).to.deep.include({ __type: "com.amazonaws.sqs#RequestEntityTooLarge" });
    expect(answer.headers["x-amzn-query-error"]).to.match(/;Sender$/);
    await stillServes();
  });

  it("refuses an announced 600 MB body from its Content-Length alone, and keeps serving", async () => {
    const answer = await post(sqs.endpoint, SQS_HEADERS, "", 600 * 1024 * 1024);
    expect(answer.status).to.equal(413);
    await stillServes();
  });

  it("reads a full batch at the message limit with every character JSON-escaped (the cap's headroom)", async () => {
    const body = JSON.stringify({ QueueUrl: queueUrl, Entries: [{ Id: "a", MessageBody: "\n".repeat(255 * 1024) }] });
    const answer = await post(sqs.endpoint, { ...SQS_HEADERS, "x-amz-target": "AmazonSQS.SendMessageBatch" }, body);
    expect(answer.status, answer.text).to.equal(200);
  });

  for (const [what, body] of [
    ["not JSON", "{not json"],
    ["JSON null", "null"],
    ["a JSON array", "[1,2]"],
    ["a JSON string", '"x"'],
  ] as const) {
    it(`answers ${what} with 400 SerializationException, without JS error text`, async () => {
      const answer = await post(sqs.endpoint, { ...SQS_HEADERS, "x-amz-target": "AmazonSQS.GetQueueUrl" }, body);
      expect(answer.status).to.equal(400);
      expect(JSON.parse(answer.text).__type).to.equal("com.amazonaws.sqs#SerializationException");
      expect(answer.text).not.to.match(/TypeError|Cannot read|at Object|\.ts:/);
    });
  }

  it("answers a parameter of the wrong type with 400 InvalidParameterValue, not a 500 with JS error text", async () => {
    const answer = await post(sqs.endpoint, { ...SQS_HEADERS, "x-amz-target": "AmazonSQS.GetQueueUrl" }, JSON.stringify({ QueueName: { toString: 1 } }));
    expect(answer.status).to.equal(400);
    expect(JSON.parse(answer.text).__type).to.equal("com.amazonaws.sqs#InvalidParameterValueException");
    expect(answer.text).not.to.match(/TypeError|primitive/);
  });

  for (const visibility of [1e11, 43_201, -1, 1.5]) {
    it(`refuses ReceiveMessage with VisibilityTimeout ${visibility} (SQS allows whole seconds 0 to 43200)`, async () => {
      const error = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: visibility })).catch((e: Error) => e);
      expect((error as Error).name).to.match(/^InvalidParameterValue(Exception)?$/);
    });
  }

  it("accepts ReceiveMessage with VisibilityTimeout 0 and 43200", async () => {
    for (const visibility of [0, 43_200]) await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: visibility }));
  });
});

describe("local SQS event-source poller: a clean stop", function () {
  this.timeout(30_000);

  it("makes a message it received but never handed to the function visible again at once", async () => {
    const sqs = await startLocalSqs({ port: 0, region: REGION });
    const client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: DUMMY });
    try {
      const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: "stop", Attributes: { VisibilityTimeout: "181" } }))).QueueUrl!;
      let invoked = 0;
      const fn: LocalFunction = { invoke: async () => void (invoked += 1) } as unknown as LocalFunction;
      // A batch of 10 with a 60 s window: one message is received and then waits for more.
      const poller = startEventSourcePoller({ sqs: client, queueUrl, queueArn: sqs.store.arnOf("stop"), region: REGION, fn, functionTimeoutMs: 1000, batchSize: 10, batchingWindowSeconds: 60, maximumConcurrency: 1 });
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "in flight at the stop" }));
      for (let i = 0; i < 200 && sqs.store.counts("stop").notVisible === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sqs.store.counts("stop"), "received by the poller").to.deep.include({ notVisible: 1 });
      await poller.stop();
      expect(invoked).to.equal(0);
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
      expect(Attributes).to.deep.equal({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" });
    } finally {
      client.destroy();
      await sqs.close();
    }
  });
});

describe("local SSM: secrets for the stack's own functions only, capped bodies", function () {
  this.timeout(30_000);
  const FUNCTIONS = { accessKeyId: "LOCALPERSTARTTOKEN0123456789", secretAccessKey: "local" };
  const SECRET = "ssm-guard-secret-0123456789abcdef";
  let server: http.Server;
  let endpoint: string;

  before(async () => {
    const store = new WebhookSourceStore(tempDir("event-ingestion-ssm-"));
    store.put("github", "github", SECRET);
    server = createSsmEndpoint(store, { accessKeyId: FUNCTIONS.accessKeyId });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const get = (credentials: typeof DUMMY) => {
    const ssm = new SSMClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
    return ssm.send(new GetParameterCommand({ Name: localParameterName("github"), WithDecryption: true })).finally(() => ssm.destroy());
  };

  it("serves the secret to the functions' per-start access key", async () => {
    expect(JSON.parse((await get(FUNCTIONS)).Parameter!.Value!)).to.deep.equal([SECRET]);
  });

  it("refuses any other access key (the dummy `local` one included) with SSM's UnrecognizedClientException, and no secret", async () => {
    const error = await get(DUMMY).catch((e: Error) => e);
    expect((error as Error).name).to.equal("UnrecognizedClientException");
    const unsigned = await post(endpoint, { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" }, JSON.stringify({ Name: localParameterName("github"), WithDecryption: true }));
    expect(unsigned.status).to.equal(400);
    expect(unsigned.text).not.to.include(SECRET);
  });

  it("refuses a body over its cap with 413 and keeps serving", async () => {
    const answer = await post(endpoint, { "x-amz-target": "AmazonSSM.GetParameter" }, Buffer.alloc(LOCAL_SSM_MAX_REQUEST_BYTES + 1, 0x20));
    expect(answer.status).to.equal(413);
    expect(JSON.parse(answer.text).__type).to.equal("RequestEntityTooLarge");
    expect((await get(FUNCTIONS)).Parameter?.Name).to.equal(localParameterName("github"));
  });
});

describe("local SNS: capped bodies", function () {
  this.timeout(30_000);

  it("refuses a body over its cap with 413 in SNS's XML error shape and keeps serving", async () => {
    const server = createSnsEndpoint([]);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const answer = await post(endpoint, form, Buffer.alloc(LOCAL_SNS_MAX_REQUEST_BYTES + 1, 0x61));
      expect(answer.status).to.equal(413);
      expect(answer.text).to.match(/<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>RequestEntityTooLarge<\/Code>/);
      const next = await post(endpoint, form, "Action=ListTopics");
      expect(next.status).to.equal(400);
      expect(next.text).to.include("<Code>InvalidAction</Code>");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
