/** Lambda entry for GET /events/{event_id}, GET /events and GET /inbox. */
import { storeConfigFromEnv } from "./lib/config";
import { createReadHandler } from "./lib/readEvents";
import { createDocumentClient } from "./lib/store";

export const handler = createReadHandler({ doc: createDocumentClient(), ...storeConfigFromEnv() });
