/** Lambda entry for GET /events/{event_id}, GET /events and GET /inbox. */
import { storeConfigFromEnv } from "./lib/ops/config";
import { createReadHandler } from "./lib/api/readEvents";
import { createDocumentClient } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";

const payloadObjects = payloadObjectsFromEnv();
export const handler = createReadHandler({ doc: createDocumentClient(), ...storeConfigFromEnv(), ...(payloadObjects ? { payloadObjects } : {}) });
