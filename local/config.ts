/**
 * Settings of the local stack. Defaults come from Pulumi.yaml's config declarations (the one
 * home of config defaults), overridden by Pulumi.dev.yaml, then by environment variables.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../components/bundle";
import { INGEST_MODES, type IngestMode } from "../handlers/routes";
import { DEFAULT_DELIVERY_MAX_ATTEMPTS, DEFAULT_DELIVERY_TIMEOUT_SECONDS } from "../handlers/lib/delivery/subscriptions";
import { catalogPolicy } from "../components/configValues";
import type { CatalogPolicy } from "../handlers/lib/ops/config";

export const LOCAL_STACK = "local";
export const PROJECT = "event-ingestion";

/** Same rule as the deployed stacks: `${project}-${stack}-${purpose}`. */
export function localTableName(purpose: string): string {
  return `${PROJECT}-${LOCAL_STACK}-${purpose}`;
}

/** The checkout's Pulumi.<stack>.yaml, or undefined when there is none. */
export function stackConfigFile(stack: string): string | undefined {
  const file = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  return fs.existsSync(file) ? file : undefined;
}

export interface StackSettings {
  enableTtl: boolean;
  retentionDays: number;
  authorizerCacheTtlSeconds: number;
  maxEventBytes: number;
  maxWebhookBytes: number;
  statusIndexShards: number;
  /** Run the example SNS pipeline (config `pipeline`), with its local SNS endpoint. */
  pipeline: boolean;
  webhookToleranceSeconds: number;
  ingestMode: IngestMode;
  queueMaxReceiveCount: number;
  processorBatchSize: number;
  processorBatchingWindowSeconds: number;
  processorMaxConcurrency: number;
  /** Attempts per delivery (config deliveryMaxAttempts). */
  deliveryMaxAttempts: number;
  /** Per-attempt timeout (config deliveryTimeoutSeconds). */
  deliveryTimeoutSeconds: number;
  /** Local only: a factor (0 < f ≤ 1) that compresses the retry schedule; DELIVERY_SCHEDULE_SCALE for npm run dev. */
  deliveryScheduleScale: number;
  /** `catalogMode` / `unknownEventTypes`; absent: off / allow. */
  catalog?: CatalogPolicy;
}

/** Project config values as the CLI would give them to `stack`; `null`: the Pulumi.yaml defaults alone. */
export function stackSettings(stack: string | null = "dev"): StackSettings {
  const values: Record<string, unknown> = {};
  const project = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
  for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
    if (!key.includes(":") && spec && typeof spec === "object") values[key] = spec.default;
  }
  const stackFile = stack === null ? undefined : stackConfigFile(stack);
  if (stackFile) {
    for (const [key, value] of Object.entries<any>(parse(fs.readFileSync(stackFile, "utf8")).config ?? {})) {
      if (key.startsWith(`${PROJECT}:`)) values[key.slice(PROJECT.length + 1)] = value;
    }
  }
  const bool = (key: string) => String(values[key]) === "true";
  const int = (key: string) => Number(values[key]);
  return {
    enableTtl: bool("enableTtl"),
    retentionDays: int("retentionDays"),
    authorizerCacheTtlSeconds: int("authorizerCacheTtlSeconds"),
    maxEventBytes: int("maxEventBytes"),
    maxWebhookBytes: int("maxWebhookBytes"),
    statusIndexShards: int("statusIndexShards"),
    pipeline: bool("pipeline"),
    webhookToleranceSeconds: int("webhookToleranceSeconds"),
    ingestMode: ingestModeValue(String(values.ingestMode)),
    queueMaxReceiveCount: int("queueMaxReceiveCount"),
    processorBatchSize: int("processorBatchSize"),
    processorBatchingWindowSeconds: int("processorBatchingWindowSeconds"),
    processorMaxConcurrency: int("processorMaxConcurrency"),
    deliveryMaxAttempts: values.deliveryMaxAttempts === undefined ? DEFAULT_DELIVERY_MAX_ATTEMPTS : int("deliveryMaxAttempts"),
    deliveryTimeoutSeconds: values.deliveryTimeoutSeconds === undefined ? DEFAULT_DELIVERY_TIMEOUT_SECONDS : int("deliveryTimeoutSeconds"),
    deliveryScheduleScale: 1,
    catalog: catalogPolicy(String(values.catalogMode), String(values.unknownEventTypes)),
  };
}

/** `direct` or `queued` (config ingestMode, or INGEST_MODE for `npm run dev`); anything else is an error that says so. */
export function ingestModeValue(value: string, source = "ingestMode"): IngestMode {
  if (!(INGEST_MODES as readonly string[]).includes(value)) throw new Error(`${source} must be one of ${INGEST_MODES.join(", ")}, got "${value}"`);
  return value as IngestMode;
}
