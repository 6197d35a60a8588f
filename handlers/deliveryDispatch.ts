/** Lambda entry of the delivery dispatcher: the events table's stream → one message per matching subscription's queue. */
import { DeliveryLog } from "./lib/delivery/deliveryLog";
import { createDeliveryDispatcher } from "./lib/delivery/dispatch";
import { deliveryConfigFromEnv } from "./lib/delivery/subscriptions";
import { createSqsClient } from "./lib/queue/queueSender";
import { createDocumentClient } from "./lib/store/store";

const config = deliveryConfigFromEnv();
export const handler = createDeliveryDispatcher({
  config,
  deliveryLog: new DeliveryLog({ doc: createDocumentClient(), deliveriesTable: config.deliveriesTable, logDays: config.logDays }),
  sqs: createSqsClient(),
});
