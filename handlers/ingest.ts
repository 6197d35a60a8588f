/** Lambda entry for POST /events. Clients and config are built once per cold start. */
import { ingestConfigFromEnv } from "./lib/config";
import { createIngestHandler } from "./lib/ingestEvent";
import { createDocumentClient, EventRepository } from "./lib/store";

const config = ingestConfigFromEnv();
export const handler = createIngestHandler({
  config,
  repository: new EventRepository(createDocumentClient(), config.eventsTable),
});
