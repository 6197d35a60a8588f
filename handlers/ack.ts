/** Lambda entry for POST /events/{event_id}/ack. */
import { createAckHandler } from "./lib/api/ackEvent";
import { storeConfigFromEnv } from "./lib/ops/config";
import { createDocumentClient } from "./lib/store/store";

export const handler = createAckHandler({ doc: createDocumentClient(), ...storeConfigFromEnv() });
