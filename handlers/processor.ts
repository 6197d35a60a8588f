/** Lambda entry of the ingest queue's processor (queued mode). Clients and config are built once per cold start. */
import { catalogPolicyFromEnv, requireEnv, storeConfigFromEnv } from "./lib/ops/config";
import { createQueueProcessor } from "./lib/queue/processQueue";
import { createSqsClient } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { ENV } from "./lib/primitives/tables";
import { catalog } from "../events/catalog";

const config = storeConfigFromEnv();
export const handler = createQueueProcessor({
  repository: new EventRepository(createDocumentClient(), config.eventsTable),
  sqs: createSqsClient(),
  queueUrl: requireEnv(process.env, ENV.ingestQueueUrl),
  statusIndexShards: config.statusIndexShards,
  catalog,
  catalogPolicy: catalogPolicyFromEnv(),
});
