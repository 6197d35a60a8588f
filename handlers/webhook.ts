/**
 * Lambda entry for POST /webhooks/{source}. Config, clients and the secret cache live per cold
 * start. INGEST_QUEUE_URL is set only in queued mode: verified deliveries then go to the ingest
 * queue (202), as POST /events does.
 */
import { ingestConfigFromEnv } from "./lib/ops/config";
import { createSqsClient, QueueSender } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { ENV } from "./lib/primitives/tables";
import { createWebhookHandler, webhookWriter } from "./lib/webhooks/receiveWebhook";
import { ssmSecretStore } from "./lib/webhooks/secrets";
import { webhookConfigFromEnv } from "./lib/webhooks/sources";
import { catalog } from "../events/catalog";

const config = ingestConfigFromEnv();
const queueUrl = process.env[ENV.ingestQueueUrl];
export const handler = createWebhookHandler({
  config: { ...webhookConfigFromEnv(), maxEventBytes: Number(process.env[ENV.maxWebhookBytes] ?? config.maxEventBytes) },
  secrets: ssmSecretStore(),
  writer: webhookWriter({
    config,
    catalog,
    repository: new EventRepository(createDocumentClient(), config.eventsTable, payloadObjectsFromEnv()),
    ...(queueUrl ? { queue: new QueueSender(createSqsClient(), queueUrl) } : {}),
  }),
});
