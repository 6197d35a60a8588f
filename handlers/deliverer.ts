/** Lambda entry of the deliverer: batches from the subscriptions' queues → signed POSTs, retries, delivered or failed. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { cachedUpdates, DeliveryLog, EventDeliveryFields } from "./lib/delivery/deliveryLog";
import { createDeliverer } from "./lib/delivery/deliver";
import { ssmSubscriptionSecretStore } from "./lib/delivery/subscriptionSecrets";
import { deliveryConfigFromEnv } from "./lib/delivery/subscriptions";
import { storeConfigFromEnv } from "./lib/ops/config";
import { createSqsClient } from "./lib/queue/queueSender";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";
import { createDocumentClient, DYNAMODB_CLIENT_DEFAULTS, EventRepository } from "./lib/store/store";

const store = storeConfigFromEnv();
const config = deliveryConfigFromEnv();
const doc = createDocumentClient();
// The two conditional updates per message: a plain client whose UpdateItem stack is resolved once (docs/adr/0041).
const updates = cachedUpdates(new DynamoDBClient({ ...DYNAMODB_CLIENT_DEFAULTS, cacheMiddleware: true }));
export const handler = createDeliverer({
  config,
  repository: new EventRepository(doc, store.eventsTable, payloadObjectsFromEnv()),
  deliveryLog: new DeliveryLog({ doc, updates, deliveriesTable: config.deliveriesTable, logDays: config.logDays }),
  fields: new EventDeliveryFields(doc, store.eventsTable, store.statusIndexShards, Date.now, updates),
  secrets: ssmSubscriptionSecretStore(),
  sqs: createSqsClient(),
});
