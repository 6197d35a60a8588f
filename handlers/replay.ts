/** Lambda entry for POST /events/{event_id}/replay. Without subscriptions every replay answers 409 (nothing to deliver to). */
import { DeliveryLog, EventDeliveryFields } from "./lib/delivery/deliveryLog";
import { createReplayHandler } from "./lib/delivery/replay";
import { deliveryConfigFromEnv } from "./lib/delivery/subscriptions";
import { storeConfigFromEnv } from "./lib/ops/config";
import { createSqsClient } from "./lib/queue/queueSender";
import { createDocumentClient, EventRepository } from "./lib/store/store";

const store = storeConfigFromEnv();
const config = deliveryConfigFromEnv();
const doc = createDocumentClient();
export const handler = createReplayHandler({
  config,
  repository: new EventRepository(doc, store.eventsTable),
  deliveryLog: new DeliveryLog({ doc, deliveriesTable: config.deliveriesTable, logDays: config.logDays }),
  fields: new EventDeliveryFields(doc, store.eventsTable, store.statusIndexShards),
  sqs: createSqsClient(),
});
