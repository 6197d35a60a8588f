/**
 * The local SQS (local/sqs) through the real @aws-sdk/client-sqs: the JSON protocol, MD5 checks
 * the SDK makes on every send and receive, visibility timeout, receive count, redrive to the DLQ
 * at maxReceiveCount, message move tasks, batch limits, and state that survives a restart.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";

const REGION = "eu-north-1";

describe("local SQS through @aws-sdk/client-sqs", function () {
  this.timeout(30_000);
  let dataDir: string;
  let sqs: LocalSqs;
  let client: SQSClient;
  let queueUrl: string;
  let dlqUrl: string;

  const start = async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION, dataDir });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  };
  const stop = async () => {
    client.destroy();
    await sqs.close();
  };
  const attributes = async (url: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes!;
  const receive = (url: string, max = 10, visibility?: number) =>
    client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max, MessageSystemAttributeNames: ["All"], ...(visibility === undefined ? {} : { VisibilityTimeout: visibility }) }));

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "local-sqs-"));
    await start();
    dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: "work-dlq" }))).QueueUrl!;
    const dlqArn = (await attributes(dlqUrl)).QueueArn!;
    queueUrl = (
      await client.send(
        new CreateQueueCommand({
          QueueName: "work",
          Attributes: { VisibilityTimeout: "30", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) },
        }),
      )
    ).QueueUrl!;
  });
  afterEach(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses to listen on anything but a loopback address", async () => {
    let error: unknown;
    try {
      await startLocalSqs({ port: 0, region: REGION, host: "0.0.0.0" });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/loopback address only/);
  });

  it("refuses requests a browser made and requests for a foreign Host (DNS rebinding), as the local DynamoDB does", async () => {
    const body = JSON.stringify({ QueueName: "work" });
    const headers = { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.GetQueueUrl" };
    const fromPage = await fetch(sqs.endpoint, { method: "POST", headers: { ...headers, origin: "https://evil.example" }, body });
    expect(fromPage.status).to.equal(403);
    const port = new URL(sqs.endpoint).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      const request = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", headers: { ...headers, host: `evil.example:${port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.end(body);
    });
    expect(rebound).to.equal(403);
    const tool = await fetch(sqs.endpoint, { method: "POST", headers, body });
    expect(tool.status).to.equal(200);
  });

  it("sends and receives with the MD5 digests the SDK verifies, and hides a received message for its visibility timeout", async () => {
    const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n":12345678901234567890123}' }));
    expect(sent.MessageId).to.be.a("string");
    const first = await receive(queueUrl);
    expect(first.Messages).to.have.length(1);
    expect(first.Messages![0]!.Body).to.equal('{"n":12345678901234567890123}');
    expect(first.Messages![0]!.Attributes!.ApproximateReceiveCount).to.equal("1");
    expect((await receive(queueUrl)).Messages ?? []).to.have.length(0);
    expect(await attributes(queueUrl)).to.include({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "1" });
  });

  it("makes a message visible again after ChangeMessageVisibility 0, with its receive count up by one", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "a" }));
    const [message] = (await receive(queueUrl)).Messages!;
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: 0 }));
    const [again] = (await receive(queueUrl)).Messages!;
    expect(again!.MessageId).to.equal(message!.MessageId);
    expect(again!.Attributes!.ApproximateReceiveCount).to.equal("2");
    expect(again!.ReceiptHandle).not.to.equal(message!.ReceiptHandle);
  });

  it("brings a message back by itself when its visibility timeout ends", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "b" }));
    await receive(queueUrl, 1, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await receive(queueUrl);
    expect(again.Messages).to.have.length(1);
  });

  it("deletes with the latest receipt handle; an older handle of a re-received message is accepted but deletes nothing, as in SQS", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "c" }));
    const [first] = (await receive(queueUrl, 1, 0)).Messages!;
    const [second] = (await receive(queueUrl, 1, 30)).Messages!;
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle! }));
    expect(await attributes(queueUrl)).to.include({ ApproximateNumberOfMessagesNotVisible: "1" });
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second!.ReceiptHandle! }));
    expect(await attributes(queueUrl)).to.include({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
    let error: unknown;
    try {
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: "not-a-handle" }));
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).to.equal("ReceiptHandleIsInvalid");
  });

  it("moves a message to the DLQ when it is received again after maxReceiveCount receives", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "poison" }));
    for (let i = 1; i <= 2; i++) {
      const [m] = (await receive(queueUrl, 1, 0)).Messages!;
      expect(m!.Attributes!.ApproximateReceiveCount).to.equal(String(i));
    }
    expect((await receive(queueUrl)).Messages ?? []).to.have.length(0);
    const [dead] = (await receive(dlqUrl)).Messages!;
    expect(dead!.Body).to.equal("poison");
    expect(dead!.Attributes!.DeadLetterQueueSourceArn).to.equal((await attributes(queueUrl)).QueueArn);
  });

  it("StartMessageMoveTask returns DLQ messages to their source queue as new messages; ListMessageMoveTasks reports it", async () => {
    await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "a", MessageBody: "1" }, { Id: "b", MessageBody: "2" }] }));
    for (let i = 0; i < 3; i++) await receive(queueUrl, 10, 0);
    expect(await attributes(dlqUrl)).to.include({ ApproximateNumberOfMessages: "2" });
    const dlqArn = (await attributes(dlqUrl)).QueueArn!;
    const { TaskHandle } = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    expect(TaskHandle).to.be.a("string");
    const tasks = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
    expect(tasks.Results![0]).to.include({ Status: "COMPLETED", ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 });
    expect(await attributes(dlqUrl)).to.include({ ApproximateNumberOfMessages: "0" });
    const back = (await receive(queueUrl)).Messages!;
    expect(back.map((m) => m.Body).sort()).to.deep.equal(["1", "2"]);
    expect(back.map((m) => m.Attributes!.ApproximateReceiveCount)).to.deep.equal(["1", "1"]);
  });

  it("refuses a move task from a queue that is no queue's DLQ", async () => {
    let error: unknown;
    try {
      await client.send(new StartMessageMoveTaskCommand({ SourceArn: (await attributes(queueUrl)).QueueArn! }));
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.match(/not a dead-letter queue/);
  });

  it("enforces the batch limits: at most 10 entries, 1 MiB together, distinct ids; a bad entry fails alone", async () => {
    const entries = (n: number, body = "x") => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: body }));
    const expectError = async (command: SendMessageBatchCommand, name: string) => {
      let error: unknown;
      try {
        await client.send(command);
      } catch (e) {
        error = e;
      }
      expect((error as Error)?.name).to.equal(name);
    };
    await expectError(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(11) }), "TooManyEntriesInBatchRequest");
    await expectError(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(2, "y".repeat(520 * 1024)) }), "BatchRequestTooLong");
    await expectError(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "a", MessageBody: "1" }, { Id: "a", MessageBody: "2" }] }), "BatchEntryIdsNotDistinct");
    const mixed = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "ok", MessageBody: "fine" }, { Id: "bad", MessageBody: "\uFFFF" }] }));
    expect(mixed.Successful!.map((s) => s.Id)).to.deep.equal(["ok"]);
    expect(mixed.Failed).to.deep.equal([{ Id: "bad", Code: "InvalidMessageContents", Message: mixed.Failed![0]!.Message, SenderFault: true }]);
    const received = (await receive(queueUrl)).Messages!;
    expect(received).to.have.length(1);
    await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: received.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })) }));
    expect(await attributes(queueUrl)).to.include({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("takes a message of 1 MiB, as SQS does since its limit rose from 256 KB, and refuses one byte more", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "z".repeat(1024 * 1024) }));
    const [message] = (await receive(queueUrl)).Messages!;
    expect(message!.Body).to.have.length(1024 * 1024);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle! }));
    let error: unknown;
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "z".repeat(1024 * 1024 + 1) }));
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).to.match(/^InvalidParameterValue/);
  });

  it("answers QueueDoesNotExist for an unknown queue", async () => {
    let error: unknown;
    try {
      await client.send(new GetQueueUrlCommand({ QueueName: "nope" }));
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).to.equal("QueueDoesNotExist");
  });

  it("long-polls: a receive waiting with WaitTimeSeconds returns as soon as a message arrives", async () => {
    const waiting = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "late" }));
    expect((await waiting).Messages![0]!.Body).to.equal("late");
  });

  it("keeps queues, messages, receive counts and in-flight state across a restart on the same data directory", async () => {
    await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "a", MessageBody: "kept" }, { Id: "b", MessageBody: "in flight" }] }));
    const [inFlight] = (await receive(queueUrl, 1, 0)).Messages!;
    expect(inFlight!.Body).to.equal("kept");
    await receive(queueUrl, 10, 60); // both in flight now, "kept" for the second time
    await stop();
    await start();
    const url = (await client.send(new GetQueueUrlCommand({ QueueName: "work" }))).QueueUrl!;
    expect(await attributes(url)).to.include({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "2" });
    expect(JSON.parse((await attributes(url)).RedrivePolicy!).maxReceiveCount).to.equal(2);
  });
});
