/**
 * Lambda entry for POST /events and /events/batch. Clients and config are built once per cold
 * start. INGEST_QUEUE_URL is set only in queued mode: accepted events then go to the ingest queue.
 * The event catalogue is bundled in and checked under the stack's catalogMode (docs/adr/0037).
 */
import { ingestConfigFromEnv } from "./lib/ops/config";
import { createIngestHandler } from "./lib/api/ingestEvent";
import { createSqsClient, QueueSender } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { ENV } from "./lib/primitives/tables";
import { catalog } from "../events/catalog";

const config = ingestConfigFromEnv();
const queueUrl = process.env[ENV.ingestQueueUrl];
export const handler = createIngestHandler({
  config,
  catalog,
  repository: new EventRepository(createDocumentClient(), config.eventsTable, payloadObjectsFromEnv()),
  ...(queueUrl ? { queue: new QueueSender(createSqsClient(), queueUrl) } : {}),
});
