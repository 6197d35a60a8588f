/** Lambda entry of the deliverer: batches from the subscriptions' queues → signed POSTs, retries, delivered or failed. */
import { DeliveryLog, EventDeliveryFields } from "./lib/delivery/deliveryLog";
import { createDeliverer } from "./lib/delivery/deliver";
import { ssmSubscriptionSecretStore } from "./lib/delivery/subscriptionSecrets";
import { deliveryConfigFromEnv } from "./lib/delivery/subscriptions";
import { storeConfigFromEnv } from "./lib/ops/config";
import { createSqsClient } from "./lib/queue/queueSender";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { createDocumentClient, EventRepository } from "./lib/store/store";

const store = storeConfigFromEnv();
const config = deliveryConfigFromEnv();
const doc = createDocumentClient();
export const handler = createDeliverer({
  config,
  repository: new EventRepository(doc, store.eventsTable, payloadObjectsFromEnv()),
  deliveryLog: new DeliveryLog({ doc, deliveriesTable: config.deliveriesTable, logDays: config.logDays }),
  fields: new EventDeliveryFields(doc, store.eventsTable, store.statusIndexShards),
  secrets: ssmSubscriptionSecretStore(),
  sqs: createSqsClient(),
});
