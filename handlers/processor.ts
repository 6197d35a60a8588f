/** Lambda entry of the ingest queue's processor (queued mode). Clients and config are built once per cold start. */
import { requireEnv, storeConfigFromEnv } from "./lib/config";
import { createQueueProcessor } from "./lib/processQueue";
import { createSqsClient } from "./lib/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store";
import { ENV } from "./lib/tables";

const config = storeConfigFromEnv();
export const handler = createQueueProcessor({
  repository: new EventRepository(createDocumentClient(), config.eventsTable),
  sqs: createSqsClient(),
  queueUrl: requireEnv(process.env, ENV.ingestQueueUrl),
  statusIndexShards: config.statusIndexShards,
});
