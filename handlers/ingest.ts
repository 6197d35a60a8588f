/**
 * Lambda entry for POST /events and /events/batch. Clients and config are built once per cold
 * start. INGEST_QUEUE_URL is set only in queued mode: accepted events then go to the ingest queue.
 */
import { ingestConfigFromEnv } from "./lib/ops/config";
import { createIngestHandler } from "./lib/api/ingestEvent";
import { createSqsClient, QueueSender } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { ENV } from "./lib/primitives/tables";

const config = ingestConfigFromEnv();
const queueUrl = process.env[ENV.ingestQueueUrl];
export const handler = createIngestHandler({
  config,
  repository: new EventRepository(createDocumentClient(), config.eventsTable, payloadObjectsFromEnv()),
  ...(queueUrl ? { queue: new QueueSender(createSqsClient(), queueUrl) } : {}),
});
