/**
 * The delivery dispatcher: Lambda hands it batches of the events table's stream. Each INSERT is an
 * event that has just been stored (by any source, in either ingest mode), so deliveries start
 * after the write and never before. For every subscription whose filter matches the event type it
 * records the pending state (deliveryLog.ensurePending) and queues one delivery message on that
 * subscription's queue; the messages of a whole batch of records go out in SendMessageBatch calls
 * of ten. Status changes (MODIFY) and expiries (REMOVE) deliver nothing. A record
 * that fails is reported (ReportBatchItemFailures, by sequence number) and Lambda retries from it;
 * doing a record twice is harmless: the state item already exists and the deliverer drops a
 * message whose delivery has settled.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { log } from "../ops/log";
import { EVENT_ID_PATTERN } from "../primitives/ids";
import type { DeliveryLog } from "./deliveryLog";
import { sendDeliveries, type QueuedDelivery } from "./deliveryQueues";
import { matches, type DeliveryConfig } from "./subscriptions";

export interface DispatchDependencies {
  config: Pick<DeliveryConfig, "subscriptions">;
  deliveryLog: DeliveryLog;
  sqs: SQSClient;
}

/** The stored event's id and type from a stream record's new image (plain attributes, whatever the payload's storage). */
export function storedEventOf(record: DynamoDBRecord): { eventId: string; eventType: string } | undefined {
  if (record.eventName !== "INSERT") return undefined;
  const image = record.dynamodb?.NewImage;
  const eventId = image?.event_id?.S;
  const eventType = image?.event_type?.S;
  if (!eventId || !EVENT_ID_PATTERN.test(eventId) || !eventType) return undefined;
  return { eventId, eventType };
}

export function createDeliveryDispatcher(deps: DispatchDependencies) {
  const targets = [...deps.config.subscriptions.values()];

  /** The pending state of every subscription the record's event matches, recorded at once; the deliveries to queue. */
  async function prepare(record: DynamoDBRecord): Promise<QueuedDelivery[]> {
    const stored = storedEventOf(record);
    if (!stored) return [];
    const matching = targets.filter((t) => matches(t, stored.eventType));
    // No subscriber: the event stays pending until acked, as before.
    const states = await Promise.all(matching.map((target) => deps.deliveryLog.ensurePending(stored.eventId, target.name, stored.eventType, matching.length)));
    return matching.flatMap((target, i) =>
      // Settled already (a stream record seen twice): nothing to queue.
      states[i]!.state === "pending" ? [{ target, message: { event_id: stored.eventId, subscription: target.name, webhook_id: states[i]!.webhook_id, attempt: 1 } }] : [],
    );
  }

  return async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const records = event.Records ?? [];
    // Every record's deliveries go out together, ten per SendMessageBatch per queue, not one call per event.
    const prepared = await Promise.allSettled(records.map(prepare));
    const owner = new Map<QueuedDelivery, number>();
    prepared.forEach((p, i) => p.status === "fulfilled" && p.value.forEach((d) => owner.set(d, i)));
    const unsent = await sendDeliveries(deps.sqs, [...owner.keys()]);
    const failed = new Map<number, string>();
    prepared.forEach((p, i) => p.status === "rejected" && failed.set(i, (p.reason as Error)?.name ?? "Error"));
    for (const d of unsent) if (!failed.has(owner.get(d)!)) failed.set(owner.get(d)!, "delivery message not queued");
    const batchItemFailures: DynamoDBBatchResponse["batchItemFailures"] = [];
    for (const [i, error] of [...failed].sort(([a], [b]) => a - b)) {
      const sequence = records[i]!.dynamodb?.SequenceNumber ?? "";
      log("WARN", "delivery dispatch failed; the stream retries", { sequence_number: sequence, error });
      batchItemFailures.push({ itemIdentifier: sequence });
    }
    return { batchItemFailures };
  };
}
