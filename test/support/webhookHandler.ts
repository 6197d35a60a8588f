/**
 * The webhook handler over a fresh dynalite table, with the sources of TEST_SOURCES and an
 * in-memory secret store (the SSM path is exercised by the local stack tests), plus events for it.
 */
import { randomUUID } from "node:crypto";
import type { QueueSender } from "../../handlers/lib/queue/queueSender";
import type { HttpEvent } from "../../handlers/lib/http/request";
import { EventRepository } from "../../handlers/lib/store/store";
import type { PayloadObjects } from "../../handlers/lib/store/payloadObjects";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { createWebhookHandler, webhookWriter } from "../../handlers/lib/webhooks/receiveWebhook";
import { SecretsUnavailableError, secretsFromParameter, type SecretStore } from "../../handlers/lib/webhooks/secrets";
import { generateSecret, type WebhookScheme } from "../../handlers/lib/webhooks/signatures";
import type { WebhookSource } from "../../handlers/lib/webhooks/sources";
import type { DynaliteSuite } from "./dynalite";
import type { Catalog } from "../../handlers/lib/events/catalog";
import type { CatalogPolicy } from "../../handlers/lib/ops/config";
import { httpEvent } from "./events";
import { TEST_SOURCES, type SignedDelivery } from "./webhookSenders";

export const WEBHOOK_ROUTE = "POST /webhooks/{source}";

export interface WebhookFixture {
  table: string;
  handler: ReturnType<typeof createWebhookHandler>;
  /** The current secret of each source, by source name. */
  secrets: Record<string, string[]>;
  /** Source names whose secrets the store cannot read (→ 503). */
  unavailable: Set<string>;
  /**
   * Raw parameter values by source name: the store then reads the source's secrets from this
   * value as the SSM store does (secretsFromParameter), instead of from `secrets`.
   */
  parameters: Record<string, string>;
  /** How often the store was asked, by source name. */
  reads: Record<string, number>;
  items(): Promise<Record<string, unknown>[]>;
  sourceFor(scheme: WebhookScheme): string;
}

export async function webhookFixture(
  suite: DynaliteSuite,
  /** `queue`: queued mode, the writer webhook.ts builds when INGEST_QUEUE_URL is set. */
  options: { maxEventBytes?: number; toleranceSeconds?: number; now?: () => number; queue?: QueueSender; catalog?: Catalog; catalogPolicy?: CatalogPolicy; payloadObjects?: PayloadObjects; table?: string } = {},
): Promise<WebhookFixture> {
  /** `table`: write to an existing table (shared with other doors) instead of a fresh one. */
  const table = options.table ?? (await suite.freshTable(EVENTS_TABLE, "webhook-events"));
  const secrets: Record<string, string[]> = Object.fromEntries(TEST_SOURCES.map((s) => [s.name, [generateSecret(s.scheme)]]));
  const unavailable = new Set<string>();
  const parameters: Record<string, string> = {};
  const reads: Record<string, number> = {};
  const store: SecretStore = {
    async secretsOf(source) {
      reads[source.name] = (reads[source.name] ?? 0) + 1;
      if (unavailable.has(source.name)) throw new SecretsUnavailableError(source.name, "ThrottlingException");
      if (Object.hasOwn(parameters, source.name)) return secretsFromParameter(source, parameters[source.name]);
      return secrets[source.name]!;
    },
  };
  const sources = new Map<string, WebhookSource>(TEST_SOURCES.map((s) => [s.name, { ...s, parameter: `/event-ingestion/test/webhooks/${s.name}` }]));
  const config = { statusIndexShards: 8, maxEventBytes: options.maxEventBytes ?? 65_536, ...(options.catalogPolicy ? { catalog: options.catalogPolicy } : {}) };
  const handler = createWebhookHandler({
    config: { sources, toleranceSeconds: options.toleranceSeconds ?? 300, maxEventBytes: config.maxEventBytes },
    secrets: store,
    writer: webhookWriter({
      config,
      repository: new EventRepository(suite.dynamo.doc, table, options.payloadObjects),
      ...(options.queue ? { queue: options.queue } : {}),
      ...(options.catalog ? { catalog: options.catalog } : {}),
    }),
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    table,
    handler,
    secrets,
    unavailable,
    parameters,
    reads,
    items: () => suite.dynamo.scanAll(table),
    sourceFor: (scheme) => TEST_SOURCES.find((s) => s.scheme === scheme)!.name,
  };
}

/** The API Gateway event of a delivery to `/webhooks/<source>` (no authorizer context: the route has none). */
export function webhookEvent(source: string, delivery: SignedDelivery, init: { base64?: boolean; requestId?: string } = {}): HttpEvent {
  const event = httpEvent({
    routeKey: WEBHOOK_ROUTE,
    body: init.base64 ? Buffer.from(delivery.body, "utf8").toString("base64") : delivery.body,
    isBase64Encoded: init.base64 ?? false,
    headers: { "content-type": undefined, ...delivery.headers },
    caller: null,
    requestId: init.requestId ?? `req-${randomUUID()}`,
    timeEpoch: Date.now(),
  });
  return { ...event, rawPath: `/webhooks/${source}`, pathParameters: { source } };
}
