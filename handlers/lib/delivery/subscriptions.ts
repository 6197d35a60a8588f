/**
 * Subscriptions: the one home for what a delivery subscription is (a name, a URL, event-type
 * filters, the SSM parameter holding its signing secrets), how the `subscriptions` stack config
 * value reads, the retry schedule, and the environment the delivery functions get. The Pulumi
 * program validates config with `parseSubscriptions` at preview time; the dispatcher, deliverer and
 * replay function read the same facts back with `deliveryConfigFromEnv`. The environment carries
 * parameter NAMES only, never a secret.
 */
import { randomBytes } from "node:crypto";
import { blockedAddressReason, isIpLiteralHost, isLoopback } from "./addresses";

/** A subscription name is part of SSM parameter names, queue names and log fields. */
export const SUBSCRIPTION_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** An exact event type (the envelope's pattern), a prefix pattern ending in `*`, or `*` alone. */
const FILTER = /^(\*|[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}\*?)$/;

export interface Subscription {
  name: string;
  url: string;
  /** Empty: every event type. Each is an exact type or a prefix pattern ending in `*` (`order.*`). */
  filters: string[];
}

/** A subscription as the delivery functions see it: plus its queue and its secrets' parameter. */
export interface DeliveryTarget extends Subscription {
  queueUrl: string;
  secretParameter: string;
}

/** Svix's schedule: the delay before attempt n+1 is entry n (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
export const DELIVERY_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];
export const DEFAULT_DELIVERY_MAX_ATTEMPTS = 8;
export const DEFAULT_DELIVERY_TIMEOUT_SECONDS = 15;
/** How long attempt records and per-subscription state are kept (the deliveries table's TTL). */
export const DEFAULT_DELIVERY_LOG_DAYS = 30;
/** SQS's ChangeMessageVisibility ceiling: no retry can wait longer than 12 h in one step. */
export const MAX_RETRY_DELAY_SECONDS = 12 * 3600;

/** Environment variables of the delivery functions (dispatcher, deliverer, replay, read). */
export const DELIVERY_ENV = {
  /** JSON array of DeliveryTarget. */
  subscriptions: "SUBSCRIPTIONS",
  maxAttempts: "DELIVERY_MAX_ATTEMPTS",
  timeoutMs: "DELIVERY_TIMEOUT_MS",
  /** Optional factor (0 < f ≤ 1) applied to every delay of the schedule: tests and the local stack compress it. */
  scheduleScale: "DELIVERY_SCHEDULE_SCALE",
  deliveriesTable: "DELIVERIES_TABLE_NAME",
  /** Days attempt records are kept (TTL). */
  logDays: "DELIVERY_LOG_DAYS",
  /** Set by the local stack only: http:// and loopback receivers allowed. Never set in a deployed stack. */
  allowLoopback: "DELIVERY_ALLOW_LOOPBACK",
} as const;

/** Where a subscription's secrets live: `/<project>/<stack>/subscriptions/<name>/secret` (SSM SecureString). */
export function subscriptionSecretParameterName(project: string, stack: string, name: string): string {
  return `/${project}/${stack}/subscriptions/${name}/secret`;
}

/** A new Standard Webhooks secret: `whsec_` + 32 random bytes in base64. */
export function newSubscriptionSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * What is wrong with a signing secret, or undefined. Standard Webhooks secrets are `whsec_` plus
 * base64 of 24 to 64 random bytes; anything shorter is guessable, anything else no verifier reads.
 */
export function subscriptionSecretProblem(value: string): string | undefined {
  if (!value.startsWith("whsec_")) return "a subscription secret must start with whsec_ (Standard Webhooks format); create one with `npm run subscriptions -- add` or `openssl rand -base64 32`, prefixed with whsec_";
  const encoded = value.slice("whsec_".length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return "the part after whsec_ must be standard base64 (A-Z a-z 0-9 + /, padded with =)";
  const bytes = Buffer.from(encoded, "base64").length;
  if (bytes < 24) return `a subscription secret must hold at least 24 random bytes, this one holds ${bytes}`;
  if (bytes > 64) return `a subscription secret must hold at most 64 bytes, this one holds ${bytes}`;
  return undefined;
}

/** A parameter's value: a JSON array of signing secrets, current first, the previous one second during a rotation. */
export function encodeSubscriptionSecrets(secrets: readonly string[]): string {
  for (const secret of secrets) {
    const problem = subscriptionSecretProblem(secret);
    if (problem) throw new Error(problem);
  }
  if (secrets.length < 1 || secrets.length > 2) throw new Error("a subscription has one secret, or two during a rotation");
  return JSON.stringify(secrets);
}

export function decodeSubscriptionSecrets(value: string): string[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || parsed.length < 1 || parsed.length > 2 || !parsed.every((s) => typeof s === "string" && subscriptionSecretProblem(s) === undefined)) {
    throw new Error("a subscription secret parameter must hold a JSON array of one or two whsec_ secrets");
  }
  return parsed as string[];
}

/** What is wrong with a subscription URL, or undefined. `allowHttp`: the local stack (http:// and loopback receivers). */
export function subscriptionUrlProblem(text: string, options: { allowHttp?: boolean } = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not an absolute URL; write it as https://host/path`;
  }
  const schemes = options.allowHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) return `"${text}" must use https:// (deployed stacks deliver only over TLS)`;
  if (url.username || url.password) return `"${text}" carries credentials; remove user:password@ and let the receiver verify the signature instead`;
  if (url.hash) return `"${text}" has a #fragment, which is never sent; remove it`;
  if (/[,|\s]/.test(text)) return `"${text}" contains a comma, | or whitespace; percent-encode them`;
  const host = url.hostname;
  if (options.allowHttp && (host === "localhost" || isLoopback(host))) return undefined;
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) return `"${text}" names a local or internal host (${host}); deliveries go to public hosts only`;
  if (isIpLiteralHost(host)) {
    const why = blockedAddressReason(host);
    if (why) return `"${text}" points at ${host}, a ${why} address; deliveries go to public addresses only`;
  }
  return undefined;
}

/**
 * The `subscriptions` config value: `orders=https://a.example/hook|order.*|invoice.paid,audit=https://b.example/in`
 * (comma between subscriptions, `=` after the name, `|` between the URL and each filter).
 * Errors say what to change.
 */
export function parseSubscriptions(spec: string, options: { allowHttp?: boolean } = {}): Subscription[] {
  const seen = new Set<string>();
  return spec
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      const eq = item.indexOf("=");
      if (eq < 0) throw new Error(`subscriptions: expected name=url|filter|… like "orders=https://example.com/hooks|order.*", got "${item}"`);
      const name = item.slice(0, eq).trim();
      const [url = "", ...filters] = item.slice(eq + 1).split("|").map((part) => part.trim());
      if (!SUBSCRIPTION_NAME.test(name)) throw new Error(`subscriptions: the name "${name}" must match ${SUBSCRIPTION_NAME.source} (lowercase letters, digits and -, up to 40)`);
      if (seen.has(name)) throw new Error(`subscriptions: "${name}" appears twice; give each subscription its own name`);
      seen.add(name);
      const problem = subscriptionUrlProblem(url, options);
      if (problem) throw new Error(`subscriptions: ${name}: ${problem}`);
      for (const filter of filters) {
        if (!FILTER.test(filter)) throw new Error(`subscriptions: ${name}: the filter "${filter}" must be an event type or a prefix ending in * (e.g. order.*)`);
      }
      return { name, url, filters: filters.includes("*") ? [] : filters };
    });
}

/** Whether `sub` wants events of this type. */
export function matches(sub: Pick<Subscription, "filters">, eventType: string): boolean {
  if (sub.filters.length === 0) return true;
  return sub.filters.some((f) => (f.endsWith("*") ? eventType.startsWith(f.slice(0, -1)) : eventType === f));
}

export interface DeliverySettings {
  subscriptions: readonly DeliveryTarget[];
  deliveriesTable: string;
  maxAttempts?: number;
  timeoutSeconds?: number;
  scheduleScale?: number;
  logDays?: number;
  /** The local stack only. */
  allowLoopback?: boolean;
}

/**
 * The environment every delivery function gets: one definition for the Pulumi program (call it
 * inside `pulumi.all(...).apply`, the queue URLs and table name being Outputs) and the local stack.
 */
export function deliveryEnvironment(settings: DeliverySettings): Record<string, string> {
  return {
    [DELIVERY_ENV.subscriptions]: JSON.stringify(
      settings.subscriptions.map(({ name, url, filters, queueUrl, secretParameter }) => ({ name, url, filters, queueUrl, secretParameter })),
    ),
    [DELIVERY_ENV.deliveriesTable]: settings.deliveriesTable,
    [DELIVERY_ENV.maxAttempts]: String(settings.maxAttempts ?? DEFAULT_DELIVERY_MAX_ATTEMPTS),
    [DELIVERY_ENV.timeoutMs]: String(1000 * (settings.timeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_SECONDS)),
    [DELIVERY_ENV.logDays]: String(settings.logDays ?? DEFAULT_DELIVERY_LOG_DAYS),
    ...(settings.scheduleScale === undefined ? {} : { [DELIVERY_ENV.scheduleScale]: String(settings.scheduleScale) }),
    ...(settings.allowLoopback ? { [DELIVERY_ENV.allowLoopback]: "true" } : {}),
  };
}

export interface DeliveryConfig {
  subscriptions: ReadonlyMap<string, DeliveryTarget>;
  deliveriesTable: string;
  maxAttempts: number;
  timeoutMs: number;
  scheduleScale: number;
  logDays: number;
  allowLoopback: boolean;
}

/** Reads and re-validates the delivery environment (a wrong deploy fails at cold start, loudly). */
export function deliveryConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DeliveryConfig {
  const allowLoopback = env[DELIVERY_ENV.allowLoopback] === "true";
  const listed = JSON.parse(env[DELIVERY_ENV.subscriptions] ?? "[]") as DeliveryTarget[];
  if (!Array.isArray(listed)) throw new Error(`environment variable ${DELIVERY_ENV.subscriptions} must be a JSON array`);
  const subscriptions = new Map<string, DeliveryTarget>();
  for (const target of listed) {
    const bad =
      !SUBSCRIPTION_NAME.test(target?.name) ||
      typeof target.queueUrl !== "string" ||
      typeof target.secretParameter !== "string" ||
      !Array.isArray(target.filters) ||
      !target.filters.every((f) => typeof f === "string" && FILTER.test(f)) ||
      subscriptionUrlProblem(target.url, { allowHttp: allowLoopback }) !== undefined;
    if (bad) throw new Error(`environment variable ${DELIVERY_ENV.subscriptions} has an invalid subscription ${JSON.stringify(target?.name)}`);
    subscriptions.set(target.name, target);
  }
  const number = (name: string, fallback: number, valid: (n: number) => boolean): number => {
    const raw = env[name];
    const n = raw === undefined || raw === "" ? fallback : Number(raw);
    if (!valid(n)) throw new Error(`environment variable ${name} is out of range: ${raw}`);
    return n;
  };
  return {
    subscriptions,
    deliveriesTable: env[DELIVERY_ENV.deliveriesTable] ?? "",
    maxAttempts: number(DELIVERY_ENV.maxAttempts, DEFAULT_DELIVERY_MAX_ATTEMPTS, (n) => Number.isInteger(n) && n >= 1 && n <= DELIVERY_SCHEDULE_SECONDS.length),
    timeoutMs: number(DELIVERY_ENV.timeoutMs, DEFAULT_DELIVERY_TIMEOUT_SECONDS * 1000, (n) => Number.isInteger(n) && n >= 100 && n <= 60_000),
    scheduleScale: number(DELIVERY_ENV.scheduleScale, 1, (n) => n > 0 && n <= 1),
    logDays: number(DELIVERY_ENV.logDays, DEFAULT_DELIVERY_LOG_DAYS, (n) => Number.isInteger(n) && n >= 1),
    allowLoopback,
  };
}
