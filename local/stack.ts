/**
 * The local stack in one process: dynalite persisted under DATA_DIR and listening for the AWS CLI
 * and the key CLI, tables from the shared definitions, the handler bundles loaded as warm
 * Lambdas, and the API Gateway emulator in front of them. In queued mode also the local SQS
 * (local/sqs, journaled under DATA_DIR/sqs) with the ingest queue and its DLQ, and an event-source
 * poller that feeds the processor bundle as Lambda's SQS event source mapping does.
 */
import * as fs from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { eventStoreEnvironment } from "../handlers/lib/ops/config";
import { createDocumentClient } from "../handlers/lib/store/store";
import { API_KEYS_TABLE, ENV, EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { AUTHORIZER_HANDLER, HANDLERS, handlerFacts, INGEST_QUEUE, ingestQueueVisibilitySeconds, PROCESSOR_HANDLER, SCOPES, type HandlerName } from "../handlers/routes";
import { ApiKeyStore } from "../cli/keyStore";
import { createGateway, type RequestLogEntry } from "./gateway";
import { LambdaHost, type LocalFunction } from "./lambdaHost";
import { LocalPipeline } from "./pipeline";
import { createSnsEndpoint } from "./sns";
import { paymentStages } from "../pipelines/payments";
import { localTableName, stackSettings, type StackSettings } from "./config";
import { ensureTable } from "./tables";
import { createSsmEndpoint } from "./ssm";
import { createS3Endpoint } from "./s3";
import { WebhookSourceStore } from "./webhookStore";
import { webhookEnvironment } from "../handlers/lib/webhooks/sources";
import { guardLocalListener } from "./localGuard";
import { startEventSourcePoller, type EventSourcePoller } from "./sqs/poller";
import { startLocalSqs } from "./sqs/server";

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

export const LOCAL_REGION = "eu-north-1";
/** dynalite ignores credentials, but the SDK needs some to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const LOCAL_KEY_FILE = "local-api-key";
/** Where a running stack says where it listens, so `npm run keys` finds it through DATA_DIR alone. */
export const LOCAL_STACK_FILE = "local-stack.json";

/** What `$DATA_DIR/local-stack.json` records while a stack runs. */
export interface RunningLocalStack {
  pid: number;
  url: string;
  dynamoEndpoint: string;
  /** The local S3 holding claim-checked payloads (ADR 0035). */
  s3Endpoint: string;
  authorizerCacheTtlSeconds: number;
}

/** The stack running on `dataDir` as it recorded itself, or undefined (none started, or its process is gone). */
export function runningLocalStack(dataDir: string): RunningLocalStack | undefined {
  let recorded: RunningLocalStack;
  try {
    recorded = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_STACK_FILE), "utf8")) as RunningLocalStack;
  } catch {
    return undefined;
  }
  return Number.isInteger(recorded.pid) && isAlive(recorded.pid) ? recorded : undefined;
}

export interface LocalStackOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  dynamoPort: number;
  /** Port of the local SNS endpoint when the pipeline runs; 0 picks a free port. @default 0 */
  snsPort?: number;
  /** The local SQS (queued mode only). @default 9324 */
  sqsPort?: number;
  host?: string;
  /**
   * Queued mode: the ingest queue's visibility timeout, instead of 6 × the processor timeout + the
   * batching window (181 s); a test or the soak shortens it to see retries within seconds.
   */
  queueVisibilitySeconds?: number;
  /**
   * The DynamoDB endpoint the function bundles use, given dynalite's; the outage tests put a
   * fault-injecting proxy in between. @default dynalite's own endpoint
   */
  functionDynamoEndpoint?: (dynamoEndpoint: string) => string | Promise<string>;
  /** Overrides of the settings read from Pulumi.yaml / Pulumi.dev.yaml. */
  settings?: Partial<StackSettings>;
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface LocalStack {
  url: string;
  dynamoEndpoint: string;
  eventsTable: string;
  apiKeysTable: string;
  /** The key created on first start; undefined on later starts (it is in `$DATA_DIR/local-api-key`). */
  createdApiKey?: string;
  keyFile: string;
  /** Webhook sources served (from `$DATA_DIR/webhook-sources.json`, read at start). */
  webhookSources: string[];
  /** The local SSM endpoint that serves their secrets (AWS_ENDPOINT_URL_SSM of the functions). */
  ssmEndpoint: string;
  /** The local S3 endpoint (AWS_ENDPOINT_URL_S3 of the functions) and the claim check's bucket there. */
  s3: { endpoint: string; bucket: string };
  settings: StackSettings;
  /** The example SNS pipeline and the endpoint that takes `Publish` for its topic; only with settings.pipeline. */
  pipeline?: { runner: LocalPipeline; snsEndpoint: string; topicArn: string };
  /** Set in queued mode only. */
  queue?: LocalIngestQueue;
  close(): Promise<void>;
}

export interface LocalIngestQueue {
  sqsEndpoint: string;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  /** Stops the event-source poller (messages stay queued), e.g. to read an event before it is stored. */
  pauseProcessor(): Promise<void>;
  resumeProcessor(): void;
}

export class DataDirInUseError extends Error {}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const host = options.host ?? "127.0.0.1";
  const settings = { ...stackSettings("dev"), ...options.settings };
  makePrivateDir(options.dataDir);
  const releaseLock = acquireLock(options.dataDir);
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  // Idempotent: a second close() must not run the cleanups again (in the reversed order, lock
  // release last), which would delete the lock of a stack started since on this DATA_DIR. Every
  // cleanup runs even when an earlier one fails (a server closed mid-request, a bundle that would
  // not stop), so a failed close still releases DATA_DIR; the first failure is reported after.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const failures: unknown[] = [];
      for (const cleanup of [...cleanups].reverse()) {
        try {
          await cleanup();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    })());

  try {
    const dynamo = dynalite({ path: path.join(options.dataDir, "dynamodb"), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    guardLocalListener(dynamo, { refuseBrowsers: true }); // only tools talk to DynamoDB
    await listen(dynamo, options.dynamoPort, host, "DYNAMODB_PORT");
    cleanups.push(() => closeServer(dynamo));
    const dynamoEndpoint = `http://${host}:${(dynamo.address() as AddressInfo).port}`;

    const client = new DynamoDBClient({ endpoint: dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    cleanups.push(() => client.destroy());
    const eventsTable = localTableName(EVENTS_TABLE.purpose);
    const apiKeysTable = localTableName(API_KEYS_TABLE.purpose);
    await ensureTable(client, EVENTS_TABLE, eventsTable);
    await ensureTable(client, API_KEYS_TABLE, apiKeysTable);

    const keyFile = path.join(options.dataDir, LOCAL_KEY_FILE);
    let createdApiKey: string | undefined;
    if (!fs.existsSync(keyFile)) {
      const doc = createDocumentClient({ endpoint: dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      createdApiKey = (await new ApiKeyStore(doc, apiKeysTable).create("local", SCOPES)).apiKey;
      doc.destroy();
      fs.writeFileSync(keyFile, createdApiKey + "\n", { mode: 0o600 });
    }
    makePrivateFiles(options.dataDir);

    // Webhook secrets: served by a local SSM endpoint under the deployed parameter names.
    const webhookStore = new WebhookSourceStore(options.dataDir);
    const ssm = createSsmEndpoint(webhookStore);
    guardLocalListener(ssm, { refuseBrowsers: true }); // it serves secrets: only the functions' SDK talks to it
    await listen(ssm, 0, host, "the local SSM endpoint");
    cleanups.push(() => closeServer(ssm));
    const ssmEndpoint = `http://${host}:${(ssm.address() as AddressInfo).port}`;

    // The claim check's bucket: payloads too large for an item even compressed (ADR 0035).
    const payloadBucket = localTableName("payloads");
    const s3 = createS3Endpoint({ dir: path.join(options.dataDir, "s3"), buckets: [payloadBucket] });
    guardLocalListener(s3, { refuseBrowsers: true }); // only the functions' SDK talks to it
    await listen(s3, 0, host, "the local S3 endpoint");
    cleanups.push(() => closeServer(s3));
    const s3Endpoint = `http://${host}:${(s3.address() as AddressInfo).port}`;

    // What the SDK inside each bundle reads, as in the deployed function plus local endpoints.
    const host_ = new LambdaHost();
    cleanups.push(() => host_.close());
    const sdkEnvironment = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: options.functionDynamoEndpoint ? await options.functionDynamoEndpoint(dynamoEndpoint) : dynamoEndpoint,
      AWS_ENDPOINT_URL_SSM: ssmEndpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
    };
    const storeEnvironment = eventStoreEnvironment({
      eventsTable,
      statusIndexShards: settings.statusIndexShards,
      maxEventBytes: settings.maxEventBytes,
      ...(settings.enableTtl ? { retentionDays: settings.retentionDays } : {}),
      payloadBucket,
    });
    const queue = settings.ingestMode === "queued" ? await startQueueFor(options, settings, host, cleanups) : undefined;
    // All bundles share this process's environment: a queued stack started earlier in the same
    // process must not turn this one's ingest or webhook function queued.
    delete process.env[ENV.ingestQueueUrl];
    if (queue) Object.assign(sdkEnvironment, { AWS_ENDPOINT_URL_SQS: queue.sqsEndpoint });
    const queueEnvironment: Record<string, string> = queue ? { [ENV.ingestQueueUrl]: queue.queueUrl } : {};

    const functions = {} as Record<HandlerName, LocalFunction>;
    const functionTimeoutsMs = {} as Record<HandlerName, number>;
    for (const [name, spec] of Object.entries(HANDLERS) as [HandlerName, (typeof HANDLERS)[HandlerName]][]) {
      const environment = {
        ...(spec.eventsTableActions.length > 0 ? storeEnvironment : {}),
        ...(handlerFacts(name, "queued").ingestQueueActions.length > 0 ? queueEnvironment : {}),
        ...("readsWebhookSecrets" in spec
          ? { ...webhookEnvironment(webhookStore.functionSources(), settings.webhookToleranceSeconds), [ENV.maxWebhookBytes]: String(settings.maxWebhookBytes) }
          : {}),
      };
      functions[name] = await host_.load(name, spec.entry, { ...sdkEnvironment, ...environment }, spec.memoryMb);
      functionTimeoutsMs[name] = spec.timeoutSeconds * 1000;
    }
    const authorizer = await host_.load("authorizer", AUTHORIZER_HANDLER.entry, { ...sdkEnvironment, [ENV.apiKeysTable]: apiKeysTable });
    if (queue) await queue.startProcessor(await host_.load("processor", PROCESSOR_HANDLER.entry, { ...sdkEnvironment, ...storeEnvironment, ...queueEnvironment }, PROCESSOR_HANDLER.memoryMb));

    const gateway = createGateway({
      functions,
      functionTimeoutsMs,
      authorizer: { fn: authorizer, timeoutMs: AUTHORIZER_HANDLER.timeoutSeconds * 1000, cacheTtlSeconds: settings.authorizerCacheTtlSeconds },
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
    guardLocalListener(gateway, { refuseBrowsers: false }); // web apps in development may call the API
    await listen(gateway, options.port, host, "PORT");
    cleanups.push(() => closeServer(gateway));
    const url = `http://${host}:${(gateway.address() as AddressInfo).port}`;
    const running: RunningLocalStack = { pid: process.pid, url, dynamoEndpoint, s3Endpoint, authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds };
    const stackFile = path.join(options.dataDir, LOCAL_STACK_FILE);
    fs.writeFileSync(stackFile, JSON.stringify(running, null, 2) + "\n", { mode: 0o600 });
    cleanups.push(() => fs.rmSync(stackFile, { force: true }));

    let pipeline: LocalStack["pipeline"];
    if (settings.pipeline) {
      const runner = await LocalPipeline.start({ name: "payments", stages: paymentStages, host: host_, region: LOCAL_REGION, environment: { ...sdkEnvironment, ...storeEnvironment } });
      cleanups.push(() => runner.idle());
      const sns = createSnsEndpoint([runner]);
      guardLocalListener(sns, { refuseBrowsers: true }); // only tools publish
      await listen(sns, options.snsPort ?? 0, host, "SNS_PORT");
      cleanups.push(() => closeServer(sns));
      pipeline = { runner, snsEndpoint: `http://${host}:${(sns.address() as AddressInfo).port}`, topicArn: runner.topicArn };
    }

    return {
      url,
      dynamoEndpoint,
      eventsTable,
      apiKeysTable,
      ...(createdApiKey ? { createdApiKey } : {}),
      keyFile,
      webhookSources: webhookStore.list().map((s) => s.name),
      ssmEndpoint,
      s3: { endpoint: s3Endpoint, bucket: payloadBucket },
      settings,
      ...(pipeline ? { pipeline } : {}),
      ...(queue ? { queue: queue.handle } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * DATA_DIR holds the API keys table (digests) and every event: owner only (0700). An existing
 * folder, made 0755 by an earlier version, is tightened too.
 */
function makePrivateDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
}

/**
 * Files 0600 and folders 0700 under DATA_DIR, for what earlier versions or dynalite (LevelDB uses
 * the process umask; `npm run dev` sets 077) created with wider modes. Symbolic links are left alone.
 */
function makePrivateFiles(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fs.chmodSync(full, 0o700);
      makePrivateFiles(full);
    } else if (entry.isFile()) {
      fs.chmodSync(full, 0o600);
    }
  }
}

/**
 * The local SQS with the ingest queue and its DLQ, set up as IngestQueue sets them up in AWS, and
 * (once the processor bundle is loaded) the event-source poller.
 */
async function startQueueFor(options: LocalStackOptions, settings: StackSettings, host: string, cleanups: (() => Promise<void> | void)[]) {
  const sqs = await startLocalSqs({ port: options.sqsPort ?? 9324, host, region: LOCAL_REGION, dataDir: path.join(options.dataDir, "sqs") });
  cleanups.push(() => sqs.close());
  const dlqName = localTableName("ingest-dlq");
  const queueName = localTableName("ingest");
  const dlq = sqs.store.createQueue(dlqName, { MessageRetentionPeriod: INGEST_QUEUE.deadLetterRetentionSeconds });
  const ingest = sqs.store.createQueue(queueName, {
    MessageRetentionPeriod: INGEST_QUEUE.retentionSeconds,
    VisibilityTimeout: options.queueVisibilitySeconds ?? ingestQueueVisibilitySeconds(PROCESSOR_HANDLER.timeoutSeconds, settings.processorBatchingWindowSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: settings.queueMaxReceiveCount }),
  });
  const client = new SQSClient({ endpoint: sqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  let processor: LocalFunction | undefined;
  let poller: EventSourcePoller | undefined;
  const resume = () => {
    if (poller || !processor) return;
    poller = startEventSourcePoller({
      sqs: client,
      queueUrl: sqs.queueUrl(queueName),
      queueArn: ingest.arn,
      region: LOCAL_REGION,
      fn: processor,
      functionTimeoutMs: PROCESSOR_HANDLER.timeoutSeconds * 1000,
      batchSize: settings.processorBatchSize,
      batchingWindowSeconds: settings.processorBatchingWindowSeconds,
      maximumConcurrency: settings.processorMaxConcurrency,
    });
  };
  const pause = async () => {
    const running = poller;
    poller = undefined;
    await running?.stop();
  };
  // Runs before the SQS server closes (cleanups run in reverse), so no poll outlives its server.
  cleanups.push(async () => {
    await pause();
    client.destroy();
  });
  return {
    sqsEndpoint: sqs.endpoint,
    queueUrl: sqs.queueUrl(queueName),
    startProcessor(fn: LocalFunction) {
      processor = fn;
      resume();
    },
    handle: {
      sqsEndpoint: sqs.endpoint,
      queueUrl: sqs.queueUrl(queueName),
      queueArn: ingest.arn,
      deadLetterQueueUrl: sqs.queueUrl(dlqName),
      deadLetterQueueArn: dlq.arn,
      pauseProcessor: pause,
      resumeProcessor: resume,
    } satisfies LocalIngestQueue,
  };
}

/** One local stack per DATA_DIR: LevelDB allows one writer, and two would race on the key file. */
function acquireLock(dataDir: string): () => void {
  const lockFile = path.join(dataDir, ".lock");
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: "wx", mode: 0o600 });
  } catch {
    const pid = Number(fs.readFileSync(lockFile, "utf8"));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new DataDirInUseError(`${dataDir} is in use by another local stack (pid ${pid}); stop it or set DATA_DIR to another folder`);
    }
    if (pid === process.pid) throw new DataDirInUseError(`${dataDir} is already in use by a local stack in this process`);
    fs.writeFileSync(lockFile, String(process.pid)); // stale lock from a process that died
  }
  return () => fs.rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function listen(server: Server, port: number, host: string, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new Error(`port ${port} on ${host} is already in use; set ${variable} to another port`) : error);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
