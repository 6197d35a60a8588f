/**
 * `$DATA_DIR/local-stack.json` and the CLIs that find the running stack through it (issue 26,
 * bug 2): the record names every endpoint, queue and topic of the stack as it runs; redrive,
 * keys and webhooks use it (never a guessed port) and refuse clearly when no stack runs there.
 * Also: the first start's key is printed by the first start that succeeds (bug 6), and
 * `redrive --stack` names queues by the deploy's own rule (issue 20, item 7). The stack's local
 * Lambda endpoint, which `npm run replay -- --stack local` reads (docs/adr/0042).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { deriveName } from "../../components/naming";
import { runKeysCli } from "../../cli/keys";
import { deployedQueueNames, runRedriveCli } from "../../cli/redrive";
import { runWebhooksCli } from "../../cli/webhooks";
import { LOCAL_KEY_FILE, LOCAL_STACK_FILE, runningLocalStack, type LocalStack, type RunningLocalStack } from "../../local/stack";
import { startLocalSqs } from "../../local/sqs/server";
import { startTestStack, tempDataDir } from "../support/localStack";

describe("$DATA_DIR/local-stack.json and the CLIs that read it", function () {
  this.timeout(120_000);
  let dataDir: string;
  let stack: LocalStack;
  let recorded: RunningLocalStack;

  before(async () => {
    dataDir = tempDataDir();
    stack = await startTestStack(dataDir, { sqsPort: 0, snsPort: 0, settings: { ingestMode: "queued", pipeline: true } });
    recorded = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_STACK_FILE), "utf8")) as RunningLocalStack;
  });
  after(async () => {
    await stack?.close();
  });

  it("records every endpoint, queue and topic of the running stack, on the ports it really took", () => {
    expect(recorded).to.deep.include({
      pid: process.pid,
      dataDir: path.resolve(dataDir),
      url: stack.url,
      dynamoEndpoint: stack.dynamoEndpoint,
      ssmEndpoint: stack.ssmEndpoint,
      lambdaEndpoint: stack.lambdaEndpoint,
      ingestMode: "queued",
      tables: { events: stack.eventsTable, apiKeys: stack.apiKeysTable },
    });
    expect(recorded.sqs).to.deep.equal({
      endpoint: stack.queue!.sqsEndpoint,
      queues: {
        ingest: { name: "event-ingestion-local-ingest", url: stack.queue!.queueUrl, arn: stack.queue!.queueArn },
        ingestDeadLetter: { name: "event-ingestion-local-ingest-dlq", url: stack.queue!.deadLetterQueueUrl, arn: stack.queue!.deadLetterQueueArn },
      },
    });
    expect(recorded.sns).to.deep.equal({ endpoint: stack.pipeline!.snsEndpoint, topics: [{ name: "payments", arn: stack.pipeline!.topicArn }] });
    expect(new URL(recorded.sqs!.endpoint).port, "a free port, not the default").not.to.equal("9324");
    expect(JSON.stringify(recorded)).not.to.include(stack.functionCredentials.accessKeyId);
  });

  it("npm run redrive finds the stack's SQS through DATA_DIR alone (no SQS_PORT)", async () => {
    const result = await runRedriveCli(["--json"], { DATA_DIR: dataDir });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.include({ status: "NOTHING_TO_MOVE", queue_url: stack.queue!.queueUrl });
  });

  it("its Lambda endpoint answers GetFunctionConfiguration under the deployed names with each function's own environment, never the functions' credentials or endpoints, and refuses browsers", async () => {
    const lambda = new LambdaClient({ endpoint: recorded.lambdaEndpoint, region: "eu-north-1", credentials: { accessKeyId: "operator", secretAccessKey: "operator" }, maxAttempts: 1 });
    try {
      const replay = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "event-ingestion-local-replay" }));
      expect(replay.Environment?.Variables).to.include({ EVENTS_TABLE_NAME: stack.eventsTable, STATUS_INDEX_SHARDS: String(stack.settings.statusIndexShards) });
      const ingest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "arn:aws:lambda:eu-north-1:000000000000:function:event-ingestion-local-ingest" }));
      expect(ingest.Environment?.Variables).to.include({ INGEST_QUEUE_URL: stack.queue!.queueUrl });
      for (const configuration of [replay, ingest]) {
        const text = JSON.stringify(configuration);
        expect(text).not.to.include(stack.functionCredentials.accessKeyId);
        expect(text).not.to.include("AWS_ENDPOINT_URL");
        expect(text).not.to.include("AWS_SECRET_ACCESS_KEY");
      }
      const missing = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "event-ingestion-local-nosuch" })).catch((error: Error) => error);
      expect((missing as Error).name).to.equal("ResourceNotFoundException");
    } finally {
      lambda.destroy();
    }
    const fromPage = await fetch(`${recorded.lambdaEndpoint}/2015-03-31/functions/event-ingestion-local-replay/configuration`, { headers: { origin: "http://evil.example" } });
    expect(fromPage.status).to.equal(403);
  });

  it("npm run webhooks -- add prints the URL of the running stack, whatever PORT says", () => {
    const result = runWebhooksCli(["add", "github", "--scheme", "github", "--json"], { DATA_DIR: dataDir, PORT: "3000" });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout).url).to.equal(`${stack.url}/webhooks/github`);
  });

  it("removes the record on a clean stop; the CLIs then refuse, naming DATA_DIR", async () => {
    await stack.close();
    expect(fs.existsSync(path.join(dataDir, LOCAL_STACK_FILE))).to.equal(false);
    expect(runningLocalStack(dataDir)).to.equal(undefined);
    const redrive = await runRedriveCli([], { DATA_DIR: dataDir });
    expect(redrive.exitCode).to.equal(1);
    expect(redrive.stderr).to.include(`no local stack is running on DATA_DIR=${dataDir}`).and.include("INGEST_MODE=queued npm run dev");
    const keys = await runKeysCli(["list"], { DATA_DIR: dataDir });
    expect(keys.exitCode).to.equal(1);
    expect(keys.stderr).to.include(`no local stack is running on DATA_DIR=${dataDir}`);
  });
});

describe("CLIs without a running stack", function () {
  this.timeout(60_000);

  it("redrive refuses a direct-mode stack's record: it has no queue", async () => {
    const dataDir = tempDataDir();
    const stack = await startTestStack(dataDir);
    try {
      const result = await runRedriveCli([], { DATA_DIR: dataDir });
      expect(result.exitCode).to.equal(1);
      expect(result.stderr).to.match(/runs in direct mode and has no queue/);
    } finally {
      await stack.close();
    }
  });

  it("webhooks creates a missing DATA_DIR owner-only (0700) and says no stack runs there yet", () => {
    const dataDir = path.join(tempDataDir(), "fresh");
    const result = runWebhooksCli(["add", "github", "--scheme", "github"], { DATA_DIR: dataDir });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(fs.statSync(dataDir).mode & 0o777).to.equal(0o700);
    expect(result.stdout).to.include(`no stack runs there now`);
  });
});

describe("npm run redrive -- --stack: queue names by the deploy's rule (components/naming.ts)", function () {
  this.timeout(30_000);
  const credentials = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
  let saved: Record<string, string | undefined>;
  before(() => {
    saved = Object.fromEntries(Object.keys(credentials).map((k) => [k, process.env[k]]));
    Object.assign(process.env, credentials);
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });

  for (const stackName of ["team.feature", "a-stack-name-long-enough-that-the-queue-name-passes-eighty"]) {
    it(`finds the ingest queue and DLQ of stack "${stackName}", whose names are shortened and hashed`, async () => {
      const names = deployedQueueNames(stackName, "eu-north-1");
      expect(names.queue).to.equal(deriveName({ project: "event-ingestion", stack: stackName, region: "eu-north-1", purpose: "ingest", kind: "sqsQueue" }));
      expect(names.queue).not.to.equal(`event-ingestion-${stackName}-ingest`);
      const sqs = await startLocalSqs({ port: 0, region: "eu-north-1" });
      const client = new SQSClient({ endpoint: sqs.endpoint, region: "eu-north-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
      try {
        await client.send(new CreateQueueCommand({ QueueName: names.queue }));
        await client.send(new CreateQueueCommand({ QueueName: names.deadLetterQueue }));
        const result = await runRedriveCli(["--stack", stackName, "--region", "eu-north-1", "--endpoint", sqs.endpoint, "--json"], {});
        expect(result.exitCode, result.stderr).to.equal(0);
        expect(JSON.parse(result.stdout).queue_url).to.equal(sqs.queueUrl(names.queue));
      } finally {
        client.destroy();
        await sqs.close();
      }
    });
  }
});

describe("the first start's key (issue 26, bug 6)", function () {
  this.timeout(60_000);

  it("a start that fails on a busy port writes no key file, so the next start creates and returns the key", async () => {
    const dataDir = tempDataDir();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    try {
      const error = await startTestStack(dataDir, { port: (busy.address() as net.AddressInfo).port }).catch((e: Error) => e);
      expect(String(error)).to.match(/already in use/);
      expect(fs.existsSync(path.join(dataDir, LOCAL_KEY_FILE))).to.equal(false);
    } finally {
      busy.close();
    }
    const stack = await startTestStack(dataDir);
    try {
      expect(stack.createdApiKey).to.be.a("string");
      expect(fs.readFileSync(stack.keyFile, "utf8").trim()).to.equal(stack.createdApiKey);
    } finally {
      await stack.close();
    }
  });
});
