/**
 * Sending delivery messages to the subscriptions' queues (one queue per subscription, so a dead
 * receiver's backlog never delays another's): SendMessageBatch per queue, ten at a time. A message
 * SQS did not take is reported back so the caller fails and retries exactly those.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { encodeDeliveryMessage, type DeliveryMessage } from "./message";
import type { DeliveryTarget } from "./subscriptions";

export interface QueuedDelivery {
  target: DeliveryTarget;
  message: DeliveryMessage;
}

const BATCH = 10;

/** Sends every delivery; returns those that were not accepted (empty when all were). */
export async function sendDeliveries(sqs: SQSClient, deliveries: readonly QueuedDelivery[]): Promise<QueuedDelivery[]> {
  const byQueue = new Map<string, QueuedDelivery[]>();
  for (const d of deliveries) byQueue.set(d.target.queueUrl, [...(byQueue.get(d.target.queueUrl) ?? []), d]);
  const chunks: { queueUrl: string; items: QueuedDelivery[] }[] = [];
  for (const [queueUrl, items] of byQueue) {
    for (let i = 0; i < items.length; i += BATCH) chunks.push({ queueUrl, items: items.slice(i, i + BATCH) });
  }
  const failed = await Promise.all(
    chunks.map(async ({ queueUrl, items }) => {
      try {
        const output = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: items.map((d, i) => ({ Id: String(i), MessageBody: encodeDeliveryMessage(d.message) })) }),
        );
        return (output.Failed ?? []).map((f) => items[Number(f.Id)]!).filter(Boolean);
      } catch {
        return items;
      }
    }),
  );
  return failed.flat();
}
