/**
 * The AWS CLI commands the start-up banner prints (local/awsCli.ts) and docs/LOCAL.md shows run
 * as printed (issue 26, friction: they lacked a region and credentials). With the AWS CLI
 * installed each runs against a local stack (LOCAL.md's default ports swapped for the test stack's
 * free ones); without it, each is checked for the region and the dummy credentials.
 */
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";
import { snsPublishCommand, sqsQueueAttributesCommand } from "../../local/awsCli";
import type { LocalStack } from "../../local/stack";
import { captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { tempDir } from "../support/tempDirs";

const awsCliInstalled = spawnSync("aws", ["--version"], { encoding: "utf8", timeout: 20_000 }).status === 0;

/** The `aws …` commands in a Markdown file: code lines and inline code that call the CLI. */
function documentedAwsCommands(markdown: string): string[] {
  const commands = new Set<string>();
  for (const line of markdown.split("\n")) {
    if (/^(AWS_\S+=\S+ )*aws /.test(line.trim())) commands.add(line.trim());
    for (const [, code] of line.matchAll(/`((?:AWS_\S+=\S+ )*aws [^`]+)`/g)) commands.add(code!);
  }
  return [...commands];
}

describe("AWS CLI commands printed by npm run dev and shown in docs/LOCAL.md", function () {
  this.timeout(120_000);
  const localMd = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "LOCAL.md"), "utf8");
  let stack: LocalStack;
  let logs: HandlerLogs;

  before(async () => {
    logs = captureHandlerLogs();
    stack = await startTestStack(tempDataDir(), { sqsPort: 0, snsPort: 0, settings: { ingestMode: "queued", pipeline: true } });
  });
  after(async () => {
    await stack?.close();
    logs.restore();
  });

  /**
   * Runs one command in a shell with no user AWS config, so only what the command says counts.
   * Asynchronously: the stack answers from this very process.
   */
  const run = (command: string): Promise<{ status: number | null; stdout: string; stderr: string }> => {
    const home = tempDir("event-ingestion-awscli-");
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, AWS_CONFIG_FILE: path.join(home, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(home, "none") };
    return new Promise((resolve, reject) => {
      const child = spawn("sh", ["-c", command], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("error", reject);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  };

  it("every documented command sets a region and dummy credentials", () => {
    const commands = documentedAwsCommands(localMd);
    expect(commands.length).to.be.greaterThan(1);
    for (const command of commands) {
      expect(command, command).to.match(/^AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region eu-north-1 /);
    }
  });

  it("the banner's sns publish and sqs get-queue-attributes run as printed", async function () {
    const commands = [snsPublishCommand(stack.pipeline!.snsEndpoint, stack.pipeline!.topicArn), sqsQueueAttributesCommand(stack.queue!.sqsEndpoint, stack.queue!.deadLetterQueueUrl)];
    for (const command of commands) expect(command).to.match(/--region eu-north-1/).and.match(/AWS_ACCESS_KEY_ID=local/);
    if (!awsCliInstalled) this.skip();
    const [publish, attributes] = await Promise.all(commands.map(run));
    expect(publish!.status, publish!.stderr).to.equal(0);
    expect(JSON.parse(publish!.stdout).MessageId).to.be.a("string");
    expect(attributes!.status, attributes!.stderr).to.equal(0);
    expect(JSON.parse(attributes!.stdout).Attributes.QueueArn).to.equal(stack.queue!.deadLetterQueueArn);
  });

  it("LOCAL.md's sns and sqs commands run as printed (on the test stack's ports)", async function () {
    if (!awsCliInstalled) this.skip();
    const ports = (command: string) =>
      command.replaceAll("http://127.0.0.1:9911", stack.pipeline!.snsEndpoint).replaceAll("http://127.0.0.1:9324", stack.queue!.sqsEndpoint);
    const commands = documentedAwsCommands(localMd).filter((c) => / (sns|sqs) /.test(c));
    expect(commands.length).to.be.greaterThan(1);
    for (const command of commands) {
      const result = await run(ports(command));
      expect(result.status, `${command}\n${result.stderr}`).to.equal(0);
    }
  });
});
