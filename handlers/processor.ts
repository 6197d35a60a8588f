/** Lambda entry of the ingest queue's processor (queued mode). Clients and config are built once per cold start. */
import { catalogPolicyFromEnv, ingestConfigFromEnv, requireEnv } from "./lib/ops/config";
import { createQueueProcessor } from "./lib/queue/processQueue";
import { createSqsClient } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { ENV } from "./lib/primitives/tables";
import { catalog } from "../events/catalog";

const config = ingestConfigFromEnv();
export const handler = createQueueProcessor({
  repository: new EventRepository(createDocumentClient(), config.eventsTable, payloadObjectsFromEnv()),
  sqs: createSqsClient(),
  queueUrl: requireEnv(process.env, ENV.ingestQueueUrl),
  statusIndexShards: config.statusIndexShards,
  maxEventBytes: config.maxEventBytes,
  ...(process.env[ENV.maxWebhookBytes] ? { maxWebhookBytes: Number(process.env[ENV.maxWebhookBytes]) } : {}),
  ...(config.retentionDays === undefined ? {} : { retentionDays: config.retentionDays }),
  catalog,
  catalogPolicy: catalogPolicyFromEnv(),
});
