/** The handlers' configuration, read once per cold start from the environment the deploy sets. */
import { ENV } from "../primitives/tables";

export interface StoreConfig {
  eventsTable: string;
  statusIndexShards: number;
}

export interface IngestConfig extends StoreConfig {
  maxEventBytes: number;
  /** Undefined when TTL is off. */
  retentionDays?: number;
}

export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  return { eventsTable: requireEnv(env, ENV.eventsTable), statusIndexShards: positiveInt(env, ENV.statusIndexShards) };
}

export function ingestConfigFromEnv(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const retention = env[ENV.retentionDays];
  return {
    ...storeConfigFromEnv(env),
    maxEventBytes: positiveInt(env, ENV.maxEventBytes),
    ...(retention ? { retentionDays: positiveInt(env, ENV.retentionDays) } : {}),
  };
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number {
  const value = Number(requireEnv(env, name));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`environment variable ${name} must be a positive integer`);
  return value;
}

/**
 * The environment a function that uses the events table gets: one definition for the Pulumi
 * program (where the table name is an Output) and for the local stack (a plain string).
 */
export function eventStoreEnvironment<T>(settings: {
  eventsTable: T;
  statusIndexShards: number;
  maxEventBytes: number;
  retentionDays?: number;
  /** The claim check's bucket; without it, payloads too large for an item are refused. */
  payloadBucket?: T;
}): Record<string, T | string> {
  return {
    [ENV.eventsTable]: settings.eventsTable,
    ...(settings.payloadBucket === undefined ? {} : { [ENV.payloadBucket]: settings.payloadBucket }),
    [ENV.statusIndexShards]: String(settings.statusIndexShards),
    [ENV.maxEventBytes]: String(settings.maxEventBytes),
    ...(settings.retentionDays === undefined ? {} : { [ENV.retentionDays]: String(settings.retentionDays) }),
  };
}
