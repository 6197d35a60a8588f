/** Lambda entry for POST /events/{event_id}/ack. */
import { createAckHandler } from "./lib/ackEvent";
import { storeConfigFromEnv } from "./lib/config";
import { createDocumentClient } from "./lib/store";

export const handler = createAckHandler({ doc: createDocumentClient(), ...storeConfigFromEnv() });
