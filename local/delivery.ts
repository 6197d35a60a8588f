/**
 * Deliveries in the local stack, wired as DeliveryEngine wires them in AWS: the events table's
 * stream (local/dynamoStream.ts) feeds the dispatcher bundle; each subscription gets its own queue
 * and DLQ on the local SQS; an event-source poller per queue feeds the deliverer bundle. The
 * subscriptions come from `$DATA_DIR/subscriptions.json` (npm run subscriptions), read at start.
 * Local receivers may be http://127.0.0.1 (DELIVERY_ALLOW_LOOPBACK); private and metadata
 * addresses stay refused.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { DELIVERY_ENV, deliveryEnvironment, type DeliveryTarget } from "../handlers/lib/delivery/subscriptions";
import { DELIVERY_BATCH_SIZE, DELIVERY_HANDLERS, DELIVERY_QUEUE, deliveryQueueMaxReceiveCount } from "../handlers/routes";
import type { LambdaHost } from "./lambdaHost";
import { localTableName } from "./config";
import { LocalEventStream } from "./dynamoStream";
import { startEventSourcePoller, type EventSourcePoller } from "./sqs/poller";
import type { LocalSqs } from "./sqs/server";
import { localSubscriptionParameterName, type StoredSubscription } from "./subscriptionStore";

export interface DeliverySettings {
  maxAttempts: number;
  timeoutSeconds: number;
  /** Compresses the retry schedule (tests; DELIVERY_SCHEDULE_SCALE for npm run dev). */
  scheduleScale: number;
}

export interface LocalDeliveryQueue {
  subscription: string;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

/** Removes the delivery variables a stack started earlier in this process may have left (bundles share process.env). */
export function clearDeliveryEnvironment(): void {
  for (const name of Object.values(DELIVERY_ENV)) delete process.env[name];
}

/** The subscriptions' queues on the local SQS and the delivery environment every delivery function gets. */
export function createDeliveryQueues(sqs: LocalSqs, subscriptions: readonly StoredSubscription[], deliveriesTable: string, settings: DeliverySettings) {
  const maxReceiveCount = deliveryQueueMaxReceiveCount(settings.maxAttempts);
  const queues: LocalDeliveryQueue[] = [];
  const targets: DeliveryTarget[] = subscriptions.map((s) => {
    const name = localTableName(`delivery-${s.name}`);
    const dlq = sqs.store.createQueue(`${name}-dlq`, { MessageRetentionPeriod: DELIVERY_QUEUE.deadLetterRetentionSeconds });
    const queue = sqs.store.createQueue(name, {
      MessageRetentionPeriod: DELIVERY_QUEUE.retentionSeconds,
      VisibilityTimeout: DELIVERY_QUEUE.visibilityTimeoutSeconds,
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
    });
    queues.push({ subscription: s.name, queueUrl: sqs.queueUrl(name), queueArn: queue.arn, deadLetterQueueUrl: sqs.queueUrl(`${name}-dlq`) });
    return { name: s.name, url: s.url, filters: s.filters, queueUrl: sqs.queueUrl(name), secretParameter: localSubscriptionParameterName(s.name) };
  });
  const environment = deliveryEnvironment({
    subscriptions: targets,
    deliveriesTable,
    maxAttempts: settings.maxAttempts,
    timeoutSeconds: settings.timeoutSeconds,
    ...(settings.scheduleScale === 1 ? {} : { scheduleScale: settings.scheduleScale }),
    allowLoopback: true,
  });
  return { queues, environment };
}

/** Loads the dispatcher and the deliverer and starts the stream and one poller per subscription queue. */
export async function startDeliveryFunctions(options: {
  host: LambdaHost;
  environment: Record<string, string>;
  stream: LocalEventStream;
  sqs: LocalSqs;
  queues: readonly LocalDeliveryQueue[];
  region: string;
}): Promise<{ stop(): Promise<void> }> {
  const { deliveryDispatch, deliverer } = DELIVERY_HANDLERS;
  const dispatcher = await options.host.load("deliveryDispatch", deliveryDispatch.entry, options.environment, deliveryDispatch.memoryMb);
  const delivererFn = await options.host.load("deliverer", deliverer.entry, options.environment, deliverer.memoryMb);
  options.stream.start(dispatcher, deliveryDispatch.timeoutSeconds * 1000);
  const client = new SQSClient({ endpoint: options.sqs.endpoint, region: options.region, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  const pollers: EventSourcePoller[] = options.queues.map((q) =>
    startEventSourcePoller({
      sqs: client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      region: options.region,
      fn: delivererFn,
      functionTimeoutMs: deliverer.timeoutSeconds * 1000,
      batchSize: DELIVERY_BATCH_SIZE,
      batchingWindowSeconds: 0,
      maximumConcurrency: DELIVERY_QUEUE.maximumConcurrency,
    }),
  );
  return {
    async stop() {
      await options.stream.stop();
      await Promise.all(pollers.map((p) => p.stop()));
      client.destroy();
    },
  };
}
