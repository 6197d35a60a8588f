/**
 * The stack: typed config → components → outputs. Every config key is declared, with its type,
 * default and description, in Pulumi.yaml; the CLI always supplies them, so they are required here.
 */
import * as pulumi from "@pulumi/pulumi";
import { EventIngestionApi } from "./components/EventIngestionApi";
import { EventStore } from "./components/EventStore";

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
};

const store = new EventStore("events", {
  enableTtl: settings.enableTtl,
  retentionDays: settings.retentionDays,
  enablePitr: settings.enablePitr,
  deletionProtection: settings.deletionProtection,
  statusIndexShards: settings.statusIndexShards,
});

const api = new EventIngestionApi("ingestion", {
  eventStore: store,
  throttle: { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
  logRetentionDays: settings.logRetentionDays,
  maxEventBytes: settings.maxEventBytes,
  authorizer: {
    cacheTtlSeconds: settings.authorizerCacheTtlSeconds,
    enablePitr: settings.enablePitr,
    deletionProtection: settings.deletionProtection,
  },
});

export const apiUrl = api.url;
export const eventsTableName = store.tableName;
export const apiKeysTableName = api.authorizer.keysTableName;
export const region = new pulumi.Config("aws").get("region");
