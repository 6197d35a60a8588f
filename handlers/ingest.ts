/**
 * Lambda entry for POST /events and /events/batch. Clients and config are built once per cold
 * start. INGEST_QUEUE_URL is set only in queued mode: accepted events then go to the ingest queue.
 */
import { ingestConfigFromEnv } from "./lib/config";
import { createIngestHandler } from "./lib/ingestEvent";
import { createSqsClient, QueueSender } from "./lib/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store";
import { ENV } from "./lib/tables";

const config = ingestConfigFromEnv();
const queueUrl = process.env[ENV.ingestQueueUrl];
export const handler = createIngestHandler({
  config,
  repository: new EventRepository(createDocumentClient(), config.eventsTable),
  ...(queueUrl ? { queue: new QueueSender(createSqsClient(), queueUrl) } : {}),
});
