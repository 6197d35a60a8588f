/**
 * The local pipeline's failures are visible (issue 26, bug 3): a message that reaches the failure
 * queue writes a log line with its stage and error; `npm run redrive -- --pipeline payments --list`
 * shows it; `npm run redrive -- --pipeline payments` sends it back through the running stack; and
 * the failure queue survives a restart, as the ingest queue does.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { runRedriveCli } from "../../cli/redrive";
import { localFailureQueueFile } from "../../local/pipeline";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

const BAD_PAYMENT = '{"event_type":"payment.succeeded","payload":{"payment_id":"p_bad","amount":-5,"currency":"XXX"}}';

describe("local pipeline: failures are logged, listed, redriven and kept across a restart", function () {
  this.timeout(120_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let messageId: string;
  // The signal `npm run dev` uses; the handler is this process's own while the stack runs.
  const start = () => startTestStack(dataDir, { settings: { pipeline: true }, pipelineRedriveSignal: "SIGUSR2" });

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    stack = await start();
    const sns = new SNSClient({ endpoint: stack.pipeline!.snsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      messageId = (await sns.send(new PublishCommand({ TopicArn: stack.pipeline!.topicArn, Message: BAD_PAYMENT }))).MessageId!;
    } finally {
      sns.destroy();
    }
    await stack.pipeline!.runner.idle();
  });
  after(async () => {
    await stack?.close();
    logs.restore();
  });

  it("logs one line with the pipeline, the failed stage, the error and the SNS message id, not the message", () => {
    const lines = logs.lines.filter((l) => l.message === "pipeline message failed; it is in the failure queue");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: "ERROR", pipeline: "payments", failed_stage: "validate-payment", error: "PaymentRejected", message_id: messageId });
    expect(JSON.stringify(lines[0])).not.to.include("p_bad");
  });

  it("npm run redrive -- --pipeline payments --list shows it, found through DATA_DIR", async () => {
    const result = await runRedriveCli(["--pipeline", "payments", "--list", "--json"], { DATA_DIR: dataDir });
    expect(result.exitCode, result.stderr).to.equal(0);
    const listed = JSON.parse(result.stdout) as { messages: Record<string, unknown>[] };
    expect(listed.messages).to.have.length(1);
    expect(listed.messages[0]).to.include({ failed_stage: "validate-payment", error: "PaymentRejected", message_id: messageId });
  });

  it("keeps the failure queue across a restart", async () => {
    await stack.close();
    expect(fs.existsSync(localFailureQueueFile(dataDir, "payments"))).to.equal(true);
    stack = await start();
    expect(stack.pipeline!.runner.failed.map((f) => f.attributes.failed_stage)).to.deep.equal(["validate-payment"]);
  });

  it("npm run redrive -- --pipeline payments sends it back through the running stack (it fails again and returns)", async () => {
    const before = logs.lines.length;
    const result = await runRedriveCli(["--pipeline", "payments", "--json"], { DATA_DIR: dataDir });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.include({ pipeline: "payments", waiting: 1, status: "COMPLETED" });
    await stack.pipeline!.runner.idle();
    expect(logs.lines.slice(before).filter((l) => l.message === "pipeline message failed; it is in the failure queue")).to.have.length(1);
    expect(stack.pipeline!.runner.failed).to.have.length(1);
  });

  it("refuses --pipeline for a pipeline the stack does not run, and --list without --pipeline", async () => {
    const unknown = await runRedriveCli(["--pipeline", "orders"], { DATA_DIR: dataDir });
    expect(unknown.exitCode).to.equal(1);
    expect(unknown.stderr).to.match(/runs no pipeline named orders \(it runs payments\)/);
    expect((await runRedriveCli(["--list"], { DATA_DIR: dataDir })).exitCode).to.equal(2);
  });
});
