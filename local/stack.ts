/**
 * The local stack in one process: dynalite persisted under DATA_DIR and listening for the AWS CLI
 * and the key CLI, tables from the shared definitions, the handler bundles loaded as warm
 * Lambdas, and the API Gateway emulator in front of them. In queued mode also the local SQS
 * (local/sqs, journaled under DATA_DIR/sqs) with the ingest queue and its DLQ, and an event-source
 * poller that feeds the processor bundle as Lambda's SQS event source mapping does. With
 * subscriptions (npm run subscriptions), deliveries too (local/delivery.ts): the bundles reach
 * dynalite through the local stream proxy, whose INSERT records feed the dispatcher. A local Lambda
 * API answers GetFunctionConfiguration for the API's functions (local/lambdaApi.ts), which
 * `npm run replay -- --stack local` reads as it reads a deployed stack's.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand, SQSClient, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import { eventStoreEnvironment } from "../handlers/lib/ops/config";
import { createDocumentClient } from "../handlers/lib/store/store";
import { API_KEYS_TABLE, DELIVERIES_TABLE, ENV, EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { AUTHORIZER_HANDLER, HANDLERS, handlerFacts, INGEST_QUEUE, ingestQueueVisibilitySeconds, PROCESSOR_HANDLER, SCOPES, type HandlerName } from "../handlers/routes";
import { ApiKeyStore } from "../handlers/lib/auth/keyStore";
import { createGateway, gatewayRequestId, type RequestLogEntry } from "./gateway";
import { LambdaHost, type LocalFunction } from "./lambdaHost";
import { localFailureQueueFile, LocalPipeline } from "./pipeline";
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
import { startLocalSqs, type LocalSqs } from "./sqs/server";
import { SubscriptionStore } from "./subscriptionStore";
import { createStreamProxy, LocalEventStream } from "./dynamoStream";
import { clearDeliveryEnvironment, createDeliveryQueues, startDeliveryFunctions, type LocalDeliveryQueue } from "./delivery";
import { createConsole, mountConsole, type ConsoleQueue } from "./console/server";
import { createLambdaApiEndpoint, type LocalFunctionConfiguration } from "./lambdaApi";

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

export const LOCAL_REGION = "eu-north-1";
/** dynalite ignores credentials, but the SDK needs some to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const LOCAL_KEY_FILE = "local-api-key";
/** Where a running stack says where it listens, so `npm run keys` finds it through DATA_DIR alone. */
export const LOCAL_STACK_FILE = "local-stack.json";

/**
 * What `$DATA_DIR/local-stack.json` records while a stack runs: every endpoint, queue and topic, so
 * every CLI (keys, redrive, webhooks) and the AWS CLI find the stack through DATA_DIR alone, on
 * whatever ports it took. Written once everything listens; removed on a clean stop.
 */
export interface RunningLocalStack {
  pid: number;
  dataDir: string;
  /** The API (gateway emulator). */
  url: string;
  dynamoEndpoint: string;
  tables: { events: string; apiKeys: string };
  /** The local SSM endpoint the webhook function reads its secrets from. */
  ssmEndpoint: string;
  region: string;
  ingestMode: StackSettings["ingestMode"];
  /** The local S3 holding claim-checked payloads (ADR 0035). */
  s3Endpoint: string;
  /** The local Lambda API (GetFunctionConfiguration of the API's functions; `npm run replay -- --stack local`). */
  lambdaEndpoint?: string;
  authorizerCacheTtlSeconds: number;
  /** Queued mode only: the local SQS and its queues. */
  sqs?: { endpoint: string; queues: { ingest: RecordedQueue; ingestDeadLetter: RecordedQueue } };
  /** With subscriptions only: the local SQS holding the delivery queues, and the deliveries table. */
  delivery?: { sqsEndpoint: string; deliveriesTable: string };
  /** The example pipeline only: the local SNS endpoint and its topics. */
  sns?: { endpoint: string; topics: { name: string; arn: string }[] };
  /**
   * The example pipeline only: its failure queue file, and the signal that makes this process send
   * the failure queue back through the pipeline (`npm run redrive -- --pipeline NAME` sends it).
   */
  pipelines?: { name: string; failureQueueFile: string; redriveSignal?: NodeJS.Signals }[];
}

export interface RecordedQueue {
  name: string;
  url: string;
  arn: string;
}

/** Why no stack answers on `dataDir`, for a CLI to print before it gives up. */
export function noLocalStackMessage(dataDir: string, needs = "npm run dev"): string {
  return `no local stack is running on DATA_DIR=${dataDir} (no live ${path.join(dataDir, LOCAL_STACK_FILE)}); start it with \`${needs}\`, or set DATA_DIR to the folder the running stack uses`;
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
  /**
   * A signal on which this process redrives the pipeline's failure queue (`npm run dev` uses
   * SIGUSR2), recorded in local-stack.json for `npm run redrive -- --pipeline`. @default none
   */
  pipelineRedriveSignal?: NodeJS.Signals;
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface LocalStack {
  url: string;
  /** The local console, served on the API's port. */
  consoleUrl: string;
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
  /** What the functions sign with this start; the local SSM answers no other access key id. Never written to disk. */
  functionCredentials: { accessKeyId: string; secretAccessKey: string };
  /** The local S3 endpoint (AWS_ENDPOINT_URL_S3 of the functions) and the claim check's bucket there. */
  s3: { endpoint: string; bucket: string };
  /** The local Lambda API: GetFunctionConfiguration of the API's functions, by their deployed names (local/lambdaApi.ts). */
  lambdaEndpoint: string;
  settings: StackSettings;
  /** The example SNS pipeline and the endpoint that takes `Publish` for its topic; only with settings.pipeline. */
  pipeline?: { runner: LocalPipeline; snsEndpoint: string; topicArn: string };
  /** Set in queued mode only. */
  queue?: LocalIngestQueue;
  /** Set when subscriptions exist (`$DATA_DIR/subscriptions.json`, read at start). */
  delivery?: LocalDelivery;
  close(): Promise<void>;
}

export interface LocalDelivery {
  sqsEndpoint: string;
  deliveriesTable: string;
  queues: LocalDeliveryQueue[];
  /** Stream records not yet dispatched. */
  readonly streamBacklog: number;
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
    const deliveriesTable = localTableName(DELIVERIES_TABLE.purpose);
    const subscriptions = new SubscriptionStore(options.dataDir).list();
    if (subscriptions.length > 0) await ensureTable(client, DELIVERIES_TABLE, deliveriesTable);

    const keyFile = path.join(options.dataDir, LOCAL_KEY_FILE);
    makePrivateFiles(options.dataDir);

    // Webhook secrets: served by a local SSM endpoint under the deployed parameter names.
    const webhookStore = new WebhookSourceStore(options.dataDir);
    // The functions' per-start access key id: the local SSM serves secrets to it alone (local/ssm.ts).
    const functionCredentials = { accessKeyId: `LOCAL${randomBytes(16).toString("hex").toUpperCase()}`, secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey };
    const subscriptionStore = new SubscriptionStore(options.dataDir);
    const ssm = createSsmEndpoint({ secretsByParameter: () => new Map([...webhookStore.secretsByParameter(), ...subscriptionStore.secretsByParameter()]) }, { accessKeyId: functionCredentials.accessKeyId });
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
    // With subscriptions the bundles write through the stream proxy, which records INSERTs for the dispatcher.
    let stream: LocalEventStream | undefined;
    let bundlesDynamoEndpoint = dynamoEndpoint;
    if (subscriptions.length > 0) {
      const eventStream = new LocalEventStream(`arn:aws:dynamodb:${LOCAL_REGION}:000000000000:table/${eventsTable}`, LOCAL_REGION, EVENTS_TABLE.partitionKey.name);
      stream = eventStream;
      const proxy = createStreamProxy({ target: dynamoEndpoint, tableName: eventsTable, keyName: EVENTS_TABLE.partitionKey.name, onInsert: (image) => eventStream.push(image) });
      guardLocalListener(proxy, { refuseBrowsers: true });
      await listen(proxy, 0, host, "the local stream proxy");
      cleanups.push(() => closeServer(proxy));
      bundlesDynamoEndpoint = `http://${host}:${(proxy.address() as AddressInfo).port}`;
    }
    const sdkEnvironment = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: functionCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: functionCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: options.functionDynamoEndpoint ? await options.functionDynamoEndpoint(bundlesDynamoEndpoint) : bundlesDynamoEndpoint,
      AWS_ENDPOINT_URL_SSM: ssmEndpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
    };
    const storeEnvironment = eventStoreEnvironment({
      eventsTable,
      statusIndexShards: settings.statusIndexShards,
      maxEventBytes: settings.maxEventBytes,
      ...(settings.enableTtl ? { retentionDays: settings.retentionDays } : {}),
      ...(settings.catalog === undefined ? {} : { catalog: settings.catalog }),
      payloadBucket,
    });
    let sqs: LocalSqs | undefined;
    if (settings.ingestMode === "queued" || subscriptions.length > 0) {
      const started = await startLocalSqs({ port: options.sqsPort ?? 9324, host, region: LOCAL_REGION, dataDir: path.join(options.dataDir, "sqs") });
      sqs = started;
      cleanups.push(() => started.close());
    }
    const queue = settings.ingestMode === "queued" ? await startQueueFor(sqs!, options, settings, cleanups) : undefined;
    // All bundles share this process's environment: a queued stack started earlier in the same
    // process must not turn this one's ingest or webhook function queued, nor deliver to its subscriptions.
    delete process.env[ENV.ingestQueueUrl];
    clearDeliveryEnvironment();
    if (sqs) Object.assign(sdkEnvironment, { AWS_ENDPOINT_URL_SQS: sqs.endpoint });
    const deliveryQueues = sqs && subscriptions.length > 0
      ? createDeliveryQueues(sqs, subscriptions, deliveriesTable, { maxAttempts: settings.deliveryMaxAttempts, timeoutSeconds: settings.deliveryTimeoutSeconds, scheduleScale: settings.deliveryScheduleScale })
      : undefined;
    const deliveryEnvironment = deliveryQueues?.environment ?? {};
    const queueEnvironment: Record<string, string> = queue ? { [ENV.ingestQueueUrl]: queue.queueUrl } : {};

    const functions = {} as Record<HandlerName, LocalFunction>;
    const functionTimeoutsMs = {} as Record<HandlerName, number>;
    const configurations: LocalFunctionConfiguration[] = [];
    for (const [name, spec] of Object.entries(HANDLERS) as [HandlerName, (typeof HANDLERS)[HandlerName]][]) {
      const environment = {
        ...(spec.eventsTableActions.length > 0 ? storeEnvironment : {}),
        ...(handlerFacts(name, "queued").ingestQueueActions.length > 0 ? queueEnvironment : {}),
        ...("readsWebhookSecrets" in spec
          ? { ...webhookEnvironment(webhookStore.functionSources(), settings.webhookToleranceSeconds), [ENV.maxWebhookBytes]: String(settings.maxWebhookBytes) }
          : {}),
        ...("deliveryEnvironment" in spec ? deliveryEnvironment : {}),
      };
      functions[name] = await host_.load(name, spec.entry, { ...sdkEnvironment, ...environment }, spec.memoryMb);
      functionTimeoutsMs[name] = spec.timeoutSeconds * 1000;
      configurations.push({ name: localTableName(name), environment, memoryMb: spec.memoryMb, timeoutSeconds: spec.timeoutSeconds });
    }
    const lambdaApi = createLambdaApiEndpoint(() => configurations, LOCAL_REGION);
    guardLocalListener(lambdaApi, { refuseBrowsers: true }); // only tools read function configurations
    await listen(lambdaApi, 0, host, "the local Lambda endpoint");
    cleanups.push(() => closeServer(lambdaApi));
    const lambdaEndpoint = `http://${host}:${(lambdaApi.address() as AddressInfo).port}`;
    const authorizer = await host_.load("authorizer", AUTHORIZER_HANDLER.entry, { ...sdkEnvironment, [ENV.apiKeysTable]: apiKeysTable });
    // The processor checks a webhook event's payload against the webhook function's limit (ADR 0043).
    const processorEnvironment = { ...sdkEnvironment, ...storeEnvironment, ...queueEnvironment, [ENV.maxWebhookBytes]: String(settings.maxWebhookBytes) };
    if (queue) await queue.startProcessor(await host_.load("processor", PROCESSOR_HANDLER.entry, processorEnvironment, PROCESSOR_HANDLER.memoryMb));
    let delivery: LocalDelivery | undefined;
    if (deliveryQueues && stream && sqs) {
      const eventStream = stream;
      const running = await startDeliveryFunctions({ host: host_, environment: { ...sdkEnvironment, ...storeEnvironment, ...deliveryEnvironment }, stream: eventStream, sqs, queues: deliveryQueues.queues, region: LOCAL_REGION });
      cleanups.push(() => running.stop());
      delivery = {
        sqsEndpoint: sqs.endpoint,
        deliveriesTable,
        queues: deliveryQueues.queues,
        get streamBacklog() {
          return eventStream.backlog;
        },
      };
    }

    // Every other endpoint listens before the gateway, so GET /health answering means the whole stack is up.
    let pipeline: LocalStack["pipeline"];
    if (settings.pipeline) {
      const runner = await LocalPipeline.start({
        name: "payments",
        stages: paymentStages,
        host: host_,
        region: LOCAL_REGION,
        environment: { ...sdkEnvironment, ...storeEnvironment },
        failureQueueFile: localFailureQueueFile(options.dataDir, "payments"),
      });
      cleanups.push(() => runner.idle());
      const sns = createSnsEndpoint([runner]);
      guardLocalListener(sns, { refuseBrowsers: true }); // only tools publish
      await listen(sns, options.snsPort ?? 0, host, "SNS_PORT");
      cleanups.push(() => closeServer(sns));
      pipeline = { runner, snsEndpoint: `http://${host}:${(sns.address() as AddressInfo).port}`, topicArn: runner.topicArn };
      const signal = options.pipelineRedriveSignal;
      if (signal) {
        const onSignal = () => void runner.redrive();
        process.on(signal, onSignal);
        cleanups.push(() => void process.off(signal, onSignal));
      }
    }

    // The console (/_console) reads through the API with the local key and watches the webhook function.
    let apiUrl = "";
    const pipelineRunner = pipeline?.runner;
    const localConsole = createConsole({
      apiUrl: () => apiUrl,
      apiKey: () => fs.readFileSync(keyFile, "utf8").trim(),
      webhookSources: () => webhookStore.list().map((s) => ({ name: s.name, scheme: s.scheme })),
      ...(queue ? { queue: queue.console } : {}),
      ...(pipelineRunner ? { pipeline: { name: "payments", failures: () => pipelineRunner.failed, redrive: () => pipelineRunner.redrive() } } : {}),
    });
    cleanups.push(() => localConsole.close());
    functions.webhook = localConsole.observeWebhook(functions.webhook);
    const gateway = createGateway({
      functions,
      functionTimeoutsMs,
      authorizer: { fn: authorizer, timeoutMs: AUTHORIZER_HANDLER.timeoutSeconds * 1000, cacheTtlSeconds: settings.authorizerCacheTtlSeconds },
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
    mountConsole(gateway, localConsole);
    // Web apps in development may call the API (the console guards itself too); a refusal carries
    // apigw-requestid like every gateway answer.
    guardLocalListener(gateway, { refuseBrowsers: false, responseHeaders: () => ({ "apigw-requestid": gatewayRequestId() }) });
    await listen(gateway, options.port, host, "PORT");
    cleanups.push(() => closeServer(gateway));
    const url = `http://${host}:${(gateway.address() as AddressInfo).port}`;
    apiUrl = url;
    // The first start's key: created only once everything is up, so a start that fails (a busy
    // port) leaves no key file behind and the next start still creates and prints one.
    let createdApiKey: string | undefined;
    if (!fs.existsSync(keyFile)) {
      const doc = createDocumentClient({ endpoint: dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      createdApiKey = (await new ApiKeyStore(doc, apiKeysTable).create("local", SCOPES)).apiKey;
      doc.destroy();
      fs.writeFileSync(keyFile, createdApiKey + "\n", { mode: 0o600 });
    }
    const stackFile = path.join(options.dataDir, LOCAL_STACK_FILE);
    const recorded: RunningLocalStack = {
      pid: process.pid,
      dataDir: path.resolve(options.dataDir),
      url,
      dynamoEndpoint,
      tables: { events: eventsTable, apiKeys: apiKeysTable },
      ssmEndpoint,
      s3Endpoint,
      lambdaEndpoint,
      region: LOCAL_REGION,
      ingestMode: settings.ingestMode,
      authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
      ...(queue ? { sqs: { endpoint: queue.sqsEndpoint, queues: queue.recorded } } : {}),
      ...(delivery ? { delivery: { sqsEndpoint: delivery.sqsEndpoint, deliveriesTable: delivery.deliveriesTable } } : {}),
      ...(pipeline
        ? {
            sns: { endpoint: pipeline.snsEndpoint, topics: [{ name: "payments", arn: pipeline.topicArn }] },
            pipelines: [
              {
                name: "payments",
                failureQueueFile: path.resolve(localFailureQueueFile(options.dataDir, "payments")),
                ...(options.pipelineRedriveSignal ? { redriveSignal: options.pipelineRedriveSignal } : {}),
              },
            ],
          }
        : {}),
    };
    fs.writeFileSync(stackFile, JSON.stringify(recorded, null, 2) + "\n", { mode: 0o600 });
    cleanups.push(() => fs.rmSync(stackFile, { force: true }));

    return {
      url,
      consoleUrl: `${url}/_console`,
      dynamoEndpoint,
      eventsTable,
      apiKeysTable,
      ...(createdApiKey ? { createdApiKey } : {}),
      keyFile,
      webhookSources: webhookStore.list().map((s) => s.name),
      ssmEndpoint,
      functionCredentials,
      s3: { endpoint: s3Endpoint, bucket: payloadBucket },
      lambdaEndpoint,
      settings,
      ...(pipeline ? { pipeline } : {}),
      ...(queue ? { queue: queue.handle } : {}),
      ...(delivery ? { delivery } : {}),
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
async function startQueueFor(sqs: LocalSqs, options: LocalStackOptions, settings: StackSettings, cleanups: (() => Promise<void> | void)[]) {
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
  const consoleQueue: ConsoleQueue = {
    async depths() {
      const attributes = async (url: string) =>
        (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes ?? {};
      const [ingestAttributes, dlqAttributes] = await Promise.all([attributes(sqs.queueUrl(queueName)), attributes(sqs.queueUrl(dlqName))]);
      return {
        visible: Number(ingestAttributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(ingestAttributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        // Every dead letter, visible or not: the console's own peek hides a message for an instant.
        deadLetter: Number(dlqAttributes.ApproximateNumberOfMessages ?? 0) + Number(dlqAttributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        oldestAgeSeconds: sqs.store.counts(queueName).oldestAgeSeconds,
      };
    },
    async deadLetters() {
      // A peek: visibility 0 leaves them where they are (the DLQ has no redrive policy to count receives against).
      const received = await client.send(
        new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl(dlqName), MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"] }),
      );
      return (received.Messages ?? []).map((m) => ({
        message_id: m.MessageId ?? "",
        receive_count: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
        sent_at: new Date(Number(m.Attributes?.SentTimestamp ?? 0)).toISOString(),
        body: m.Body ?? "",
      }));
    },
    async redrive() {
      // What `npm run redrive` does: an SQS message move task from the DLQ to its source, awaited.
      const { TaskHandle } = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: ingest.arn }));
      for (let waited = 0; waited < 30_000; waited += 100) {
        const { Results } = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
        const task = Results?.find((t) => t.TaskHandle === TaskHandle) ?? Results?.[0];
        if (task && task.Status !== "RUNNING") return { status: task.Status, moved: task.ApproximateNumberOfMessagesMoved ?? 0 };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { status: "RUNNING" };
    },
  };
  return {
    sqsEndpoint: sqs.endpoint,
    queueUrl: sqs.queueUrl(queueName),
    console: consoleQueue,
    recorded: {
      ingest: { name: queueName, url: sqs.queueUrl(queueName), arn: ingest.arn },
      ingestDeadLetter: { name: dlqName, url: sqs.queueUrl(dlqName), arn: dlq.arn },
    },
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
