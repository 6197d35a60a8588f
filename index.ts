/**
 * The stack: typed config → components → outputs. Every config key is declared, with its type,
 * default and description, in Pulumi.yaml; the CLI always supplies them, so they are required here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { countsValue, listValue } from "./components/configValues";
import type { EventCallback } from "./components/EventConsumer";
import { EventIngestionApi } from "./components/EventIngestionApi";
import { EventStore } from "./components/EventStore";
import { IngestQueue } from "./components/IngestQueue";
import { physicalName } from "./components/naming";
import { Observability } from "./components/Observability";
import { INGEST_MODES, type IngestMode } from "./handlers/routes";

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
  statusIndexShards: config.requireNumber("statusIndexShards"),
  forwardToEventBridge: config.requireBoolean("forwardToEventBridge"),
  tracing: config.requireBoolean("tracing"),
  reservedConcurrency: countsValue("reservedConcurrency", config.require("reservedConcurrency")),
  corsAllowedOrigins: listValue(config.require("corsAllowedOrigins")),
  customDomainName: config.require("customDomainName"),
  customDomainHostedZoneId: config.require("customDomainHostedZoneId"),
  alarmEmail: config.require("alarmEmail"),
  ingestMode: config.require("ingestMode"),
  queueMaxReceiveCount: config.requireNumber("queueMaxReceiveCount"),
  processorBatchSize: config.requireNumber("processorBatchSize"),
  processorBatchingWindowSeconds: config.requireNumber("processorBatchingWindowSeconds"),
  processorMaxConcurrency: config.requireNumber("processorMaxConcurrency"),
};
/** `source` of every event this stack puts on its bus; rules match on it. */
const EVENT_SOURCE = pulumi.getProject();

if (!(INGEST_MODES as readonly string[]).includes(settings.ingestMode)) {
  throw new Error(`config ingestMode must be one of ${INGEST_MODES.join(", ")}, got "${settings.ingestMode}"`);
}
const ingestMode = settings.ingestMode as IngestMode;

if ((settings.customDomainName === "") !== (settings.customDomainHostedZoneId === "")) {
  throw new Error("config customDomainName and customDomainHostedZoneId go together: set both, or neither");
}

const store = new EventStore("events", {
  enableTtl: settings.enableTtl,
  retentionDays: settings.retentionDays,
  enablePitr: settings.enablePitr,
  deletionProtection: settings.deletionProtection,
  statusIndexShards: settings.statusIndexShards,
  // The stream exists exactly when a consumer reads it.
  stream: settings.forwardToEventBridge,
});

let eventBus: aws.cloudwatch.EventBus | undefined;
if (settings.forwardToEventBridge) {
  eventBus = new aws.cloudwatch.EventBus("event-bus", { name: physicalName("events") });
  store.onEvent(
    "forward",
    { factory: forwardToEventBridge },
    {
      environment: { EVENT_BUS_NAME: eventBus.name },
      grants: [{ Effect: "Allow", Action: ["events:PutEvents"], Resource: [eventBus.arn] }],
      logRetentionDays: settings.logRetentionDays,
      tracing: settings.tracing,
    },
  );
}

const ingestQueue =
  ingestMode === "queued"
    ? new IngestQueue("ingest-queue", {
        eventStore: store,
        maxEventBytes: settings.maxEventBytes,
        maxReceiveCount: settings.queueMaxReceiveCount,
        batchSize: settings.processorBatchSize,
        batchingWindowSeconds: settings.processorBatchingWindowSeconds,
        maximumConcurrency: settings.processorMaxConcurrency,
        logRetentionDays: settings.logRetentionDays,
        tracing: settings.tracing,
      })
    : undefined;

const api = new EventIngestionApi("ingestion", {
  eventStore: store,
  ...(ingestQueue ? { ingestQueue } : {}),
  throttle: { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
  logRetentionDays: settings.logRetentionDays,
  maxEventBytes: settings.maxEventBytes,
  tracing: settings.tracing,
  reservedConcurrency: settings.reservedConcurrency,
  cors: { allowOrigins: settings.corsAllowedOrigins },
  ...(settings.customDomainName === ""
    ? {}
    : { domain: { name: settings.customDomainName, hostedZoneId: settings.customDomainHostedZoneId } }),
  authorizer: {
    cacheTtlSeconds: settings.authorizerCacheTtlSeconds,
    enablePitr: settings.enablePitr,
    deletionProtection: settings.deletionProtection,
  },
});

const observability = new Observability("operations", {
  api,
  store,
  ...(ingestQueue ? { ingestQueue } : {}),
  ...(settings.alarmEmail === "" ? {} : { alarmEmail: settings.alarmEmail }),
});

export const apiUrl = api.url;
export const customDomainUrl = api.domain?.url;
export const eventsTableName = store.tableName;
export const apiKeysTableName = api.authorizer.keysTableName;
export const eventBusName = eventBus?.name;
export const ingestQueueUrl = ingestQueue?.queueUrl;
export const deadLetterQueueUrl = ingestQueue?.deadLetterQueueUrl;
export const dashboardUrl = observability.dashboardUrl;
export const alarmTopicArn = observability.alarmTopicArn;
export const region = new pulumi.Config("aws").get("region");

/**
 * The consumer this stack ships with (config forwardToEventBridge), written as an inline callback:
 * Pulumi serializes this factory into the consumer's code, and Lambda runs it once per cold start.
 * Each new event goes onto the stack's EventBridge bus, where other systems subscribe with rules
 * like `{"source": ["event-ingestion"], "detail-type": ["order.created"]}`. Delivery is at least
 * once (a failed batch is retried whole), so subscribers deduplicate on `detail.event_id`.
 */
function forwardToEventBridge(): EventCallback {
  // Lambda's Node.js runtime provides the AWS SDK v3; a callback bundles no dependencies.
  const { EventBridgeClient, PutEventsCommand } = require("@aws-sdk/client-eventbridge");
  const client = new EventBridgeClient({});
  const busName = process.env.EVENT_BUS_NAME;
  // The event as it was accepted; its delivery status belongs to the inbox, not to subscribers.
  const published = ["event_id", "event_type", "payload", "metadata", "occurred_at", "created_at", "received_at", "source", "schema_version"];
  /** A DynamoDB attribute value as JSON text; numbers keep the exact digits they were stored with. */
  const toJson = (value: Record<string, any>): string => {
    if ("S" in value) return JSON.stringify(value.S);
    if ("N" in value) return value.N;
    if ("BOOL" in value) return String(value.BOOL);
    if ("NULL" in value) return "null";
    if ("L" in value) return `[${value.L.map(toJson).join(",")}]`;
    if ("M" in value) return `{${Object.entries(value.M).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v as Record<string, any>)}`).join(",")}}`;
    throw new Error(`unsupported attribute value with keys ${Object.keys(value).join(",")}`);
  };

  return async (event) => {
    const entries = event.Records.filter((record) => record.eventName === "INSERT" && record.dynamodb.NewImage).map((record) => {
      const item = record.dynamodb.NewImage!;
      return {
        EventBusName: busName,
        Source: EVENT_SOURCE,
        DetailType: item.event_type.S,
        Time: new Date(item.created_at.S),
        Detail: toJson({ M: Object.fromEntries(published.filter((key) => key in item).map((key) => [key, item[key]])) }),
      };
    });
    // PutEvents takes at most 10 entries; a refused entry fails the batch, so Lambda retries it.
    for (let start = 0; start < entries.length; start += 10) {
      const result = await client.send(new PutEventsCommand({ Entries: entries.slice(start, start + 10) }));
      if (result.FailedEntryCount > 0) {
        const codes = result.Entries.filter((e: { ErrorCode?: string }) => e.ErrorCode).map((e: { ErrorCode: string }) => e.ErrorCode);
        throw new Error(`EventBridge refused ${result.FailedEntryCount} of ${entries.slice(start, start + 10).length} events: ${[...new Set(codes)].join(", ")}`);
      }
    }
  };
}
