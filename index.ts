/**
 * The stack: typed config → components → outputs. Every config key is declared, with its type,
 * default and description, in Pulumi.yaml; the CLI always supplies them, so they are required here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { requiredConcurrencyQuota } from "./components/handlerFunction";
import { countsValue, listValue } from "./components/configValues";
import { LogEncryptionKey } from "./components/encryptionKeys";
import type { EventCallback } from "./components/EventConsumer";
import { EventIngestionApi } from "./components/EventIngestionApi";
import { EventPipeline } from "./components/EventPipeline";
import { EventStore } from "./components/EventStore";
import { physicalName } from "./components/naming";
import { decodedImage } from "./components/storedImage";
import { Observability } from "./components/Observability";
import { paymentStages } from "./pipelines/payments";
import { parseSourceList } from "./handlers/lib/webhooks/sources";
import { IngestQueue } from "./components/IngestQueue";
import { Deliveries } from "./components/Deliveries";
import { parseSubscriptions } from "./handlers/lib/delivery/subscriptions";
import { AWS_LIMITS } from "./handlers/lib/primitives/limits";
import { INGEST_MODES, type IngestMode } from "./handlers/routes";
import { catalogPolicy } from "./components/configValues";

const config = new pulumi.Config();
const settings = {
  enableTtl: config.requireBoolean("enableTtl"),
  retentionDays: config.requireNumber("retentionDays"),
  enablePitr: config.requireBoolean("enablePitr"),
  deletionProtection: config.requireBoolean("deletionProtection"),
  logRetentionDays: config.requireNumber("logRetentionDays"),
  authorizerCacheTtlSeconds: config.requireNumber("authorizerCacheTtlSeconds"),
  throttleRateLimit: config.requireNumber("throttleRateLimit"),
  throttleBurstLimit: config.requireNumber("throttleBurstLimit"),
  maxEventBytes: config.requireNumber("maxEventBytes"),
  maxWebhookBytes: config.requireNumber("maxWebhookBytes"),
  statusIndexShards: config.requireNumber("statusIndexShards"),
  forwardToEventBridge: config.requireBoolean("forwardToEventBridge"),
  tracing: config.requireBoolean("tracing"),
  reservedConcurrency: countsValue("reservedConcurrency", config.require("reservedConcurrency")),
  corsAllowedOrigins: listValue(config.require("corsAllowedOrigins")),
  customDomainName: config.require("customDomainName"),
  customDomainHostedZoneId: config.require("customDomainHostedZoneId"),
  alarmEmail: config.require("alarmEmail"),
  pipeline: config.requireBoolean("pipeline"),
  logEncryption: config.requireBoolean("logEncryption"),
  webhookSources: parseSourceList(config.require("webhookSources")),
  webhookToleranceSeconds: config.requireNumber("webhookToleranceSeconds"),
  ingestMode: config.require("ingestMode"),
  queueMaxReceiveCount: config.requireNumber("queueMaxReceiveCount"),
  processorBatchSize: config.requireNumber("processorBatchSize"),
  processorBatchingWindowSeconds: config.requireNumber("processorBatchingWindowSeconds"),
  processorMaxConcurrency: config.requireNumber("processorMaxConcurrency"),
  pipelineMaxReceiveCount: config.requireNumber("pipelineMaxReceiveCount"),
  pipelineMaxConcurrency: config.requireNumber("pipelineMaxConcurrency"),
  // Deployed stacks deliver to https only; a bad URL, name or filter fails the preview here.
  subscriptions: parseSubscriptions(config.require("subscriptions")),
  deliveryMaxAttempts: config.requireNumber("deliveryMaxAttempts"),
  deliveryTimeoutSeconds: config.requireNumber("deliveryTimeoutSeconds"),
  deliveryConcurrency: config.requireNumber("deliveryConcurrency"),
  catalogMode: config.require("catalogMode"),
  unknownEventTypes: config.require("unknownEventTypes"),
};
/** `source` of every event this stack puts on its bus; rules match on it. */
const EVENT_SOURCE = pulumi.getProject();

if (!(INGEST_MODES as readonly string[]).includes(settings.ingestMode)) {
  throw new Error(`config ingestMode must be one of ${INGEST_MODES.join(", ")}, got "${settings.ingestMode}"`);
}
const ingestMode = settings.ingestMode as IngestMode;
const catalog = catalogPolicy(settings.catalogMode, settings.unknownEventTypes);

if ((settings.customDomainName === "") !== (settings.customDomainHostedZoneId === "")) {
  throw new Error("config customDomainName and customDomainHostedZoneId go together: set both, or neither");
}

// Every component below that creates a log group (functions, access logs, consumers, state
// machines) gets this key as `logKey`; without it, its log groups use AWS-managed encryption.
const logKey = settings.logEncryption ? new LogEncryptionKey("logs") : undefined;

const store = new EventStore("events", {
  enableTtl: settings.enableTtl,
  retentionDays: settings.retentionDays,
  enablePitr: settings.enablePitr,
  deletionProtection: settings.deletionProtection,
  statusIndexShards: settings.statusIndexShards,
  // The stream exists exactly when a consumer reads it: the EventBridge forwarder, the delivery dispatcher.
  stream: settings.forwardToEventBridge || settings.subscriptions.length > 0,
  catalog,
});

let eventBus: aws.cloudwatch.EventBus | undefined;
if (settings.forwardToEventBridge) {
  eventBus = new aws.cloudwatch.EventBus("event-bus", { name: physicalName("events", "eventBus") });
  store.onEvent(
    "forward",
    { factory: forwardToEventBridge },
    {
      environment: { EVENT_BUS_NAME: eventBus.name },
      grants: [{ Effect: "Allow", Action: ["events:PutEvents"], Resource: [eventBus.arn] }],
      logRetentionDays: settings.logRetentionDays,
      logKey,
      tracing: settings.tracing,
    },
  );
}

const ingestQueue =
  ingestMode === "queued"
    ? new IngestQueue("ingest-queue", {
        eventStore: store,
        maxEventBytes: settings.maxEventBytes,
        maxWebhookBytes: settings.maxWebhookBytes,
        maxReceiveCount: settings.queueMaxReceiveCount,
        batchSize: settings.processorBatchSize,
        batchingWindowSeconds: settings.processorBatchingWindowSeconds,
        maximumConcurrency: settings.processorMaxConcurrency,
        logRetentionDays: settings.logRetentionDays,
        logKey,
        tracing: settings.tracing,
      })
    : undefined;

// Signed pushes to subscribers (docs/adr/0033); with no subscription, no delivery resource at all.
const deliveries =
  settings.subscriptions.length > 0
    ? new Deliveries("deliveries", {
        store,
        // One secret per subscription, set with `pulumi config set --secret subscriptionSecret-<name>`; during a
        // rotation the old one stays as subscriptionPreviousSecret-<name> (docs/OPERATIONS.md).
        subscriptions: settings.subscriptions.map((sub) => {
          const previousSecret = config.getSecret(`subscriptionPreviousSecret-${sub.name}`);
          return { ...sub, secret: config.requireSecret(`subscriptionSecret-${sub.name}`), ...(previousSecret ? { previousSecret } : {}) };
        }),
        maxAttempts: settings.deliveryMaxAttempts,
        timeoutSeconds: settings.deliveryTimeoutSeconds,
        concurrency: settings.deliveryConcurrency,
        enablePitr: settings.enablePitr,
        deletionProtection: settings.deletionProtection,
        maxEventBytes: settings.maxEventBytes,
        logRetentionDays: settings.logRetentionDays,
        logKey,
        tracing: settings.tracing,
      })
    : undefined;

const api = new EventIngestionApi("ingestion", {
  eventStore: store,
  ...(deliveries ? { deliveries } : {}),
  ...(ingestQueue ? { ingestQueue } : {}),
  throttle: { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
  logRetentionDays: settings.logRetentionDays,
  logKey,
  maxEventBytes: settings.maxEventBytes,
  maxWebhookBytes: settings.maxWebhookBytes,
  tracing: settings.tracing,
  reservedConcurrency: settings.reservedConcurrency,
  cors: { allowOrigins: settings.corsAllowedOrigins },
  ...(settings.customDomainName === ""
    ? {}
    : { domain: { name: settings.customDomainName, hostedZoneId: settings.customDomainHostedZoneId } }),
  webhooks: {
    // One secret per source, set with `pulumi config set --secret webhookSecret-<name>`; during a
    // rotation the old one stays accepted as webhookPreviousSecret-<name> (docs/OPERATIONS.md).
    sources: settings.webhookSources.map(({ name, scheme }) => {
      const previousSecret = config.getSecret(`webhookPreviousSecret-${name}`);
      return { name, scheme, secret: config.requireSecret(`webhookSecret-${name}`), ...(previousSecret ? { previousSecret } : {}) };
    }),
    toleranceSeconds: settings.webhookToleranceSeconds,
  },
  authorizer: {
    cacheTtlSeconds: settings.authorizerCacheTtlSeconds,
    enablePitr: settings.enablePitr,
    deletionProtection: settings.deletionProtection,
  },
});

// The example payment-notification pipeline; its stages are inline callbacks in pipelines/payments.ts.
const payments = settings.pipeline
  ? new EventPipeline("payments", {
      store,
      stages: paymentStages,
      maxEventBytes: settings.maxEventBytes,
      maxReceiveCount: settings.pipelineMaxReceiveCount,
      maxConcurrency: settings.pipelineMaxConcurrency,
      logRetentionDays: settings.logRetentionDays,
      logKey,
      tracing: settings.tracing,
    })
  : undefined;

const observability = new Observability("operations", {
  api,
  store,
  pipelines: payments ? [payments] : [],
  ...(ingestQueue ? { ingestQueue } : {}),
  ...(deliveries ? { deliveries } : {}),
  ...(settings.alarmEmail === "" ? {} : { alarmEmail: settings.alarmEmail }),
});

// Every component exists: the log key's policy names exactly the log groups created above.
logKey?.seal();

export const apiUrl = api.url;
export const customDomainUrl = api.domain?.url;
export const eventsTableName = store.tableName;
export const apiKeysTableName = api.authorizer.keysTableName;
export const eventBusName = eventBus?.name;
export const ingestQueueUrl = ingestQueue?.queueUrl;
export const deadLetterQueueUrl = ingestQueue?.deadLetterQueueUrl;
export const dashboardUrl = observability.dashboardUrl;
export const alarmTopicArn = observability.alarmTopicArn;
export const pipelineTopicArn = payments?.topicArn;
export const pipelineStateMachineArn = payments?.stateMachineArn;
export const pipelineFailureQueueUrl = payments?.failureQueue.url;
export const logKeyArn = logKey?.keyArn;
export const deliveriesTableName = deliveries?.table.name;
export const deliveryQueueUrls = deliveries && pulumi.output(Object.fromEntries(deliveries.subscriptions.map((s) => [s.name, s.queue.url])));
export const deliveryDeadLetterQueueUrls = deliveries && pulumi.output(Object.fromEntries(deliveries.subscriptions.map((s) => [s.name, s.deadLetterQueue.url])));
export const region = new pulumi.Config("aws").get("region");
/**
 * The regional Lambda concurrency quota this stack's reservations need (their sum, the pipeline's
 * cap included, plus the 100 AWS keeps unreserved). Check it before `pulumi up`:
 * `aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions`.
 */
export const requiredLambdaConcurrencyQuota = requiredConcurrencyQuota({ ...settings.reservedConcurrency, ...payments?.reservedConcurrency });

/**
 * The consumer this stack ships with (config forwardToEventBridge), written as an inline callback:
 * Pulumi serializes this factory into the consumer's code, and Lambda runs it once per cold start.
 * Each new event goes onto the stack's EventBridge bus, where other systems subscribe with rules
 * like `{"source": ["event-ingestion"], "detail-type": ["order.created"]}`. Delivery is at least
 * once (a failed batch is retried whole), so subscribers deduplicate on `detail.event_id`.
 *
 * What EventBridge accepts shapes `detail` (docs/adr/0023):
 * - numbers keep the exact digits they were stored with, except integers outside signed 64 bits
 *   (and numbers of that size in exponent form), which EventBridge refuses: those are carried as
 *   JSON strings of the same digits, and `detail.string_encoded_numbers` lists their JSON Pointers
 *   (RFC 6901), e.g. `["/payload/total"]`; the field is absent when there are none;
 * - one call carries at most 10 entries and 1 MiB (AWS_LIMITS: Time counts 14 bytes, Source, DetailType and
 *   Detail their UTF-8 bytes); an event that alone exceeds 1 MiB is sent without its payload and
 *   with `detail.payload_omitted: "too_large"`, for subscribers to read it with GET /events/{id};
 * - a payload stored compressed (storage format 2, ADR 0035) is decompressed by `decodedImage`
 *   (components/storedImage.ts, which your own consumers call too) and sent as it was received;
 *   one claim-checked to S3 (an item over 64 KB even compressed) is sent with
 *   `payload_omitted: "too_large"`.
 */
function forwardToEventBridge(): EventCallback {
  // Lambda's Node.js runtime provides the AWS SDK v3; a callback bundles no dependencies.
  const { EventBridgeClient, PutEventsCommand } = require("@aws-sdk/client-eventbridge");
  const client = new EventBridgeClient({});
  const busName = process.env.EVENT_BUS_NAME;
  const MAX_ENTRIES = AWS_LIMITS.eventBridgeMaxEntries;
  const MAX_REQUEST_BYTES = AWS_LIMITS.eventBridgeEntryBytes;
  const INT64_MIN = -(2n ** 63n);
  const INT64_MAX = 2n ** 63n - 1n;
  // The event as it was accepted; its delivery status belongs to the inbox, not to subscribers.
  const published = ["event_id", "event_type", "payload", "metadata", "occurred_at", "created_at", "received_at", "source", "schema_version", "catalog", "schema_violations"];

  /** Whether EventBridge takes this stored number as a JSON number. */
  const fitsEventBridge = (digits: string): boolean =>
    /^-?\d+$/.test(digits) ? BigInt(digits) >= INT64_MIN && BigInt(digits) <= INT64_MAX : Math.abs(Number(digits)) < 2 ** 63;
  /** A DynamoDB attribute value as JSON text; `stringEncoded` collects the pointers of numbers carried as strings. */
  const toJson = (value: Record<string, any>, pointer: string, stringEncoded: string[]): string => {
    if ("S" in value) return JSON.stringify(value.S);
    if ("N" in value) {
      if (fitsEventBridge(value.N)) return value.N;
      stringEncoded.push(pointer);
      return JSON.stringify(value.N);
    }
    if ("BOOL" in value) return String(value.BOOL);
    if ("NULL" in value) return "null";
    if ("L" in value) return `[${value.L.map((v: Record<string, any>, i: number) => toJson(v, `${pointer}/${i}`, stringEncoded)).join(",")}]`;
    if ("M" in value) {
      const members = Object.entries(value.M).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v as Record<string, any>, `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`, stringEncoded)}`);
      return `{${members.join(",")}}`;
    }
    throw new Error(`unsupported attribute value with keys ${Object.keys(value).join(",")}`);
  };
  const detailOf = (item: Record<string, any>, keys: string[], extra: Record<string, unknown>): string => {
    const stringEncoded: string[] = [];
    const body = toJson({ M: Object.fromEntries(keys.filter((key) => key in item).map((key) => [key, item[key]])) }, "", stringEncoded);
    const more = { ...extra, ...(stringEncoded.length > 0 ? { string_encoded_numbers: stringEncoded } : {}) };
    const tail = Object.entries(more).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",");
    return tail === "" ? body : body === "{}" ? `{${tail}}` : `${body.slice(0, -1)},${tail}}`;
  };
  /** PutEvents' size of an entry (docs: "Calculating PutEvents event entry size"). */
  const sizeOf = (entry: { Source: string; DetailType: string; Detail: string }): number =>
    14 + Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail);

  const entryOf = (image: Record<string, any>) => {
    const item: Record<string, any> = decodedImage(image);
    const base = { EventBusName: busName, Source: EVENT_SOURCE, DetailType: item.event_type.S, Time: new Date(item.created_at.S) };
    const whole = { ...base, Detail: detailOf(item, published, {}) };
    if (item.payload !== undefined && sizeOf(whole) < MAX_REQUEST_BYTES) return whole;
    return { ...base, Detail: detailOf(item, published.filter((key) => key !== "payload"), { payload_omitted: "too_large" }) };
  };
  /** Consecutive entries, at most 10 and under 1 MiB in total per call. */
  const callsOf = <T extends { Source: string; DetailType: string; Detail: string }>(entries: T[]): T[][] => {
    const calls: T[][] = [];
    let current: T[] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = sizeOf(entry);
      if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size >= MAX_REQUEST_BYTES)) {
        calls.push(current);
        current = [];
        bytes = 0;
      }
      current.push(entry);
      bytes += size;
    }
    if (current.length > 0) calls.push(current);
    return calls;
  };

  return async (event) => {
    const entries = event.Records.filter((record) => record.eventName === "INSERT" && record.dynamodb.NewImage).map((record) => entryOf(record.dynamodb.NewImage!));
    // A refused entry fails the batch, so Lambda retries (and bisects) it.
    for (const call of callsOf(entries)) {
      const result = await client.send(new PutEventsCommand({ Entries: call }));
      if (result.FailedEntryCount > 0) {
        const codes = result.Entries.filter((e: { ErrorCode?: string }) => e.ErrorCode).map((e: { ErrorCode: string }) => e.ErrorCode);
        throw new Error(`EventBridge refused ${result.FailedEntryCount} of ${call.length} events: ${[...new Set(codes)].join(", ")}`);
      }
    }
  };
}
