/**
 * The local event-source poller (local/sqs/poller.ts) against the local SQS, with functions loaded
 * by the LambdaHost as the stack loads them: it deletes exactly what Lambda's SQS event source
 * mapping deletes under ReportBatchItemFailures. A response naming a message that is not in the
 * batch, or an empty identifier, fails the whole batch; a function that throws or times out
 * leaves every message undeleted (issue 26, "Tests that can fail").
 */
import { expect } from "chai";
import { SendMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { LambdaHost } from "../../local/lambdaHost";
import { failuresOf, startEventSourcePoller } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";

const REGION = "eu-north-1";

describe("local event-source poller: what it deletes after an invocation", function () {
  this.timeout(30_000);
  let sqs: LocalSqs;
  let client: SQSClient;
  let host: LambdaHost;
  let queues = 0;

  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    host = new LambdaHost();
  });
  after(async () => {
    client.destroy();
    await sqs.close();
    host.close();
  });

  /**
   * Queues three messages, runs one batch of them through a function whose handler is `code`
   * (CommonJS; `FIRST` is the first message's id), then stops the poller; answers what is left.
   */
  async function oneBatch(code: string, functionTimeoutMs = 5_000) {
    const name = `work-${++queues}`;
    sqs.store.createQueue(name, { VisibilityTimeout: 60 });
    const queueUrl = sqs.queueUrl(name);
    for (const body of ["a", "b", "c"]) await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const fn = await host.loadCode(name, "index.js", code, {});
    let reported: (report: { size: number; failed: number; error?: string }) => void = () => {};
    const batch = new Promise<{ size: number; failed: number; error?: string }>((resolve) => (reported = resolve));
    const poller = startEventSourcePoller({
      sqs: client,
      queueUrl,
      queueArn: sqs.store.arnOf(name),
      region: REGION,
      fn,
      functionTimeoutMs,
      batchSize: 3,
      batchingWindowSeconds: 1,
      maximumConcurrency: 1,
      onBatch: (report) => reported(report),
    });
    const report = await batch;
    await poller.stop();
    expect(report.size).to.equal(3);
    return { report, left: sqs.store.counts(name) };
  }

  it("deletes every message but the ones the function reported failed", async () => {
    const { report, left } = await oneBatch("exports.handler = async (event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });");
    expect(report.failed).to.equal(1);
    expect(left).to.deep.include({ visible: 0, notVisible: 1 });
  });

  it("deletes every message when the function reports no failures", async () => {
    const { left } = await oneBatch("exports.handler = async () => ({ batchItemFailures: [] });");
    expect(left).to.deep.include({ visible: 0, notVisible: 0 });
  });

  for (const [what, failures] of [
    ["an itemIdentifier that is not in the batch", '[{ itemIdentifier: "not-in-this-batch" }]'],
    ["an empty itemIdentifier", '[{ itemIdentifier: "" }]'],
    ["a known one next to an unknown one", '[{ itemIdentifier: event.Records[0].messageId }, { itemIdentifier: "nope" }]'],
    ["an entry without itemIdentifier", "[{}]"],
    ["batchItemFailures that is not a list", '"all"'],
  ] as const) {
    it(`fails the whole batch, deleting nothing, for ${what}`, async () => {
      const { report, left } = await oneBatch(`exports.handler = async (event) => ({ batchItemFailures: ${failures} });`);
      expect(report.failed).to.equal(3);
      expect(left).to.deep.include({ visible: 0, notVisible: 3 });
    });
  }

  it("deletes nothing when the function throws", async () => {
    const { report, left } = await oneBatch('exports.handler = async () => { throw new Error("boom"); };');
    expect(report).to.include({ failed: 3, error: "boom" });
    expect(left).to.deep.include({ visible: 0, notVisible: 3 });
  });

  it("deletes nothing when the function times out (even if it would have succeeded later)", async () => {
    const { report, left } = await oneBatch("exports.handler = () => new Promise((resolve) => setTimeout(() => resolve({ batchItemFailures: [] }), 1_000));", 100);
    expect(report.failed).to.equal(3);
    expect(report.error).to.match(/did not answer within 100 ms/);
    expect(left).to.deep.include({ visible: 0, notVisible: 3 });
  });

  it("reads a response as Lambda does (failuresOf)", () => {
    const messages = ["m1", "m2"].map((MessageId) => ({ MessageId }) as Message);
    expect([...failuresOf(undefined, messages)]).to.deep.equal([]);
    expect([...failuresOf(null, messages)]).to.deep.equal([]);
    expect([...failuresOf({} as never, messages)]).to.deep.equal([]);
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "m2" }] }, messages)]).to.deep.equal(["m2"]);
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "" }] }, messages)]).to.have.members(["m1", "m2"]);
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "m3" }] }, messages)]).to.have.members(["m1", "m2"]);
  });
});
