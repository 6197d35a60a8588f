/** The handlers' configuration, read once per cold start from the environment the deploy sets. */
import { ENV } from "../primitives/tables";

export interface StoreConfig {
  eventsTable: string;
  statusIndexShards: number;
}

export const CATALOG_MODES = ["off", "warn", "enforce"] as const;
/** `off`: declared payloads are not checked; `warn`: stored and flagged; `enforce`: refused (400). */
export type CatalogMode = (typeof CATALOG_MODES)[number];

export const UNKNOWN_EVENT_TYPE_POLICIES = ["allow", "warn", "reject"] as const;
/** An event type the catalogue does not declare: stored, stored and flagged, or refused (400). */
export type UnknownEventTypePolicy = (typeof UNKNOWN_EVENT_TYPE_POLICIES)[number];

/** The stack's `catalogMode` and `unknownEventTypes` (docs/adr/0037). */
export interface CatalogPolicy {
  mode: CatalogMode;
  unknownEventTypes: UnknownEventTypePolicy;
}

/** Today's behaviour: nothing checked, nothing flagged. The default of every stack. */
export const CATALOG_POLICY_OFF: CatalogPolicy = { mode: "off", unknownEventTypes: "allow" };

export interface IngestConfig extends StoreConfig {
  maxEventBytes: number;
  /** Undefined when TTL is off. */
  retentionDays?: number;
  /** How the event catalogue is applied; absent: off / allow. */
  catalog?: CatalogPolicy;
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
    catalog: catalogPolicyFromEnv(env),
  };
}

/** CATALOG_MODE and UNKNOWN_EVENT_TYPES; unset or empty means the default, anything else unknown fails the cold start. */
export function catalogPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): CatalogPolicy {
  return {
    mode: oneOf(env, ENV.catalogMode, CATALOG_MODES, CATALOG_POLICY_OFF.mode),
    unknownEventTypes: oneOf(env, ENV.unknownEventTypes, UNKNOWN_EVENT_TYPE_POLICIES, CATALOG_POLICY_OFF.unknownEventTypes),
  };
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`environment variable ${name} must be one of ${allowed.join(", ")}, got "${value}"`);
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
  /** Written only when it differs from off / allow, so existing functions' environments stay as they are. */
  catalog?: CatalogPolicy;
  /** The claim check's bucket; without it, payloads too large for an item are refused. */
  payloadBucket?: T;
}): Record<string, T | string> {
  const catalog = settings.catalog ?? CATALOG_POLICY_OFF;
  return {
    [ENV.eventsTable]: settings.eventsTable,
    ...(settings.payloadBucket === undefined ? {} : { [ENV.payloadBucket]: settings.payloadBucket }),
    [ENV.statusIndexShards]: String(settings.statusIndexShards),
    [ENV.maxEventBytes]: String(settings.maxEventBytes),
    ...(settings.retentionDays === undefined ? {} : { [ENV.retentionDays]: String(settings.retentionDays) }),
    ...(catalog.mode === CATALOG_POLICY_OFF.mode ? {} : { [ENV.catalogMode]: catalog.mode }),
    ...(catalog.unknownEventTypes === CATALOG_POLICY_OFF.unknownEventTypes ? {} : { [ENV.unknownEventTypes]: catalog.unknownEventTypes }),
  };
}
