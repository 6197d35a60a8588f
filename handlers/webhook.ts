/** Lambda entry for POST /webhooks/{source}. Config, clients and the secret cache live per cold start. */
import { ingestConfigFromEnv } from "./lib/config";
import { createEventWriter } from "./lib/eventWriter";
import { createDocumentClient, EventRepository } from "./lib/store";
import { createWebhookHandler } from "./lib/webhooks/receiveWebhook";
import { ssmSecretStore } from "./lib/webhooks/secrets";
import { webhookConfigFromEnv } from "./lib/webhooks/sources";

const config = ingestConfigFromEnv();
export const handler = createWebhookHandler({
  config: { ...webhookConfigFromEnv(), maxEventBytes: config.maxEventBytes },
  secrets: ssmSecretStore(),
  writer: createEventWriter({ config, repository: new EventRepository(createDocumentClient(), config.eventsTable) }),
});
