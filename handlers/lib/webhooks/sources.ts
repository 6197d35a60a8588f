/**
 * Webhook sources: the one home for what a source is (a name, a scheme, the SSM parameter that holds
 * its secrets), how the `webhookSources` config value reads, and how the webhook function learns its
 * sources from its environment. The environment carries parameter NAMES only, never a secret.
 */
import { WEBHOOK_SCHEMES, DEFAULT_TOLERANCE_SECONDS, secretProblem, type WebhookScheme } from "./signatures";
import { WEBHOOK_SOURCE_NAME } from "../events/record";

/**
 * A source name is a path segment and part of `webhook.<source>`, so it fits the event_type pattern;
 * defined with the stored record, whose `source.webhook` the queue processor checks against it.
 */
export { WEBHOOK_SOURCE_NAME };

export interface WebhookSource {
  name: string;
  scheme: WebhookScheme;
  /** SSM Parameter Store SecureString holding the source's accepted secrets (see encodeSecrets). */
  parameter: string;
}

export interface WebhookConfig {
  sources: ReadonlyMap<string, WebhookSource>;
  toleranceSeconds: number;
}

/** Environment variables of the webhook function. */
export const WEBHOOK_ENV = {
  sources: "WEBHOOK_SOURCES",
  toleranceSeconds: "WEBHOOK_TOLERANCE_SECONDS",
} as const;

/** Where a source's secrets live: `/<project>/<stack>/webhooks/<name>`. */
export function secretParameterName(project: string, stack: string, source: string): string {
  return `/${project}/${stack}/webhooks/${source}`;
}

/**
 * The `webhookSources` config value: `"github=github, payments=stripe"` (name=scheme pairs; project
 * config has no map type) → `[{name: "github", scheme: "github"}, …]`. Errors say what to change.
 */
export function parseSourceList(text: string): { name: string; scheme: WebhookScheme }[] {
  const seen = new Set<string>();
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      const [name = "", scheme = "", ...rest] = item.split("=").map((part) => part.trim());
      if (rest.length > 0 || !WEBHOOK_SOURCE_NAME.test(name) || !(WEBHOOK_SCHEMES as readonly string[]).includes(scheme)) {
        throw new Error(
          `webhookSources: expected name=scheme pairs like "github=github,payments=stripe" (names ${WEBHOOK_SOURCE_NAME.source}, schemes ${WEBHOOK_SCHEMES.join(", ")}), got "${item}"`,
        );
      }
      if (seen.has(name)) throw new Error(`webhookSources: "${name}" appears twice`);
      seen.add(name);
      return { name, scheme: scheme as WebhookScheme };
    });
}

/** The webhook function's environment: sources with their parameter names, and the tolerance. */
export function webhookEnvironment(sources: readonly WebhookSource[], toleranceSeconds: number): Record<string, string> {
  return {
    [WEBHOOK_ENV.sources]: JSON.stringify(sources.map(({ name, scheme, parameter }) => ({ name, scheme, parameter }))),
    [WEBHOOK_ENV.toleranceSeconds]: String(toleranceSeconds),
  };
}

export function webhookConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const listed = JSON.parse(env[WEBHOOK_ENV.sources] ?? "[]") as WebhookSource[];
  const sources = new Map<string, WebhookSource>();
  for (const source of listed) {
    if (!WEBHOOK_SOURCE_NAME.test(source.name) || !(WEBHOOK_SCHEMES as readonly string[]).includes(source.scheme) || !source.parameter) {
      throw new Error(`environment variable ${WEBHOOK_ENV.sources} has an invalid source ${JSON.stringify(source)}`);
    }
    sources.set(source.name, source);
  }
  const tolerance = Number(env[WEBHOOK_ENV.toleranceSeconds] ?? DEFAULT_TOLERANCE_SECONDS);
  if (!Number.isInteger(tolerance) || tolerance <= 0) throw new Error(`environment variable ${WEBHOOK_ENV.toleranceSeconds} must be a positive integer`);
  return { sources, toleranceSeconds: tolerance };
}

/**
 * A parameter's value: a JSON array of the accepted secrets, the current one first and, during a
 * rotation, the previous one second. One parameter per source keeps one read per source.
 */
export function encodeSecrets(secrets: readonly string[]): string {
  return JSON.stringify(secrets);
}

/**
 * The secrets a parameter value holds, each re-checked with the strength rule `secretProblem`
 * applies where secrets are set: a hand-edited parameter (`[""]`, `["whsec_A"]`, whose key decodes
 * to zero bytes) must fail closed, never verify deliveries with an empty or weak HMAC key. The
 * error never quotes a secret.
 */
export function decodeSecrets(value: string, scheme: WebhookScheme): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error("a webhook secret parameter must hold a JSON array of one or two secrets");
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 2 || !parsed.every((s) => typeof s === "string")) {
    throw new Error("a webhook secret parameter must hold a JSON array of one or two secrets");
  }
  parsed.forEach((secret: string, i) => {
    const problem = secretProblem(scheme, secret);
    if (problem) throw new Error(`secret ${i + 1} of the parameter ${problem}`);
  });
  return parsed as string[];
}
