/**
 * The delivery dispatcher: Lambda hands it batches of the events table's stream. Each INSERT is an
 * event that has just been stored (by any source, in either ingest mode), so deliveries start
 * after the write and never before. For every subscription whose filter matches the event type it
 * records the pending state (deliveryLog.ensurePending) and queues one delivery message on that
 * subscription's queue. Status changes (MODIFY) and expiries (REMOVE) deliver nothing. A record
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

  async function dispatch(record: DynamoDBRecord): Promise<void> {
    const stored = storedEventOf(record);
    if (!stored) return;
    const matching = targets.filter((t) => matches(t, stored.eventType));
    if (matching.length === 0) return; // no subscriber: the event stays pending until acked, as before
    const deliveries: QueuedDelivery[] = [];
    for (const target of matching) {
      const state = await deps.deliveryLog.ensurePending(stored.eventId, target.name, stored.eventType);
      if (state.state !== "pending") continue; // settled already (a stream record seen twice)
      deliveries.push({ target, message: { event_id: stored.eventId, subscription: target.name, webhook_id: state.webhook_id, attempt: 1 } });
    }
    const failed = await sendDeliveries(deps.sqs, deliveries);
    if (failed.length > 0) throw new Error(`${failed.length} delivery message(s) were not queued`);
  }

  return async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const records = event.Records ?? [];
    const outcomes = await Promise.allSettled(records.map(dispatch));
    const batchItemFailures: DynamoDBBatchResponse["batchItemFailures"] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") return;
      const sequence = records[i]!.dynamodb?.SequenceNumber ?? "";
      log("WARN", "delivery dispatch failed; the stream retries", { sequence_number: sequence, error: (outcome.reason as Error)?.name ?? "Error" });
      batchItemFailures.push({ itemIdentifier: sequence });
    });
    return { batchItemFailures };
  };
}
