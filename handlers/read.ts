/** Lambda entry for GET /events/{event_id}, GET /events, GET /inbox and GET /events/{event_id}/deliveries. */
import { storeConfigFromEnv } from "./lib/ops/config";
import { createReadHandler } from "./lib/api/readEvents";
import { DeliveryLog } from "./lib/delivery/deliveryLog";
import { deliveryConfigFromEnv } from "./lib/delivery/subscriptions";
import { createDocumentClient } from "./lib/store/store";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";

const doc = createDocumentClient();
const delivery = deliveryConfigFromEnv();
const payloadObjects = payloadObjectsFromEnv();
export const handler = createReadHandler({
  doc,
  ...storeConfigFromEnv(),
  ...(payloadObjects ? { payloadObjects } : {}),
  ...(delivery.deliveriesTable ? { deliveryLog: new DeliveryLog({ doc, deliveriesTable: delivery.deliveriesTable, logDays: delivery.logDays }) } : {}),
});
