/**
 * The ingest queue's processor (queued mode): each message of an SQS batch is decoded, validated
 * and written with the project's conditional put, and only the messages that failed are reported
 * back (ReportBatchItemFailures, through Powertools' batch utility), so one bad message never
 * re-delivers its batch-mates.
 *
 * - Stored: the message is done (Lambda deletes it).
 * - Already stored with the same content: a redelivery or an idempotent repeat; done, and the
 *   stored item is left as it is (an event acknowledged since keeps `delivered`).
 * - Storage trouble: reported as failed; SQS delivers it again after the visibility timeout.
 * - Can never be stored (unreadable, invalid or not as a producer derives it, see queueMessage.ts,
 *   or an Idempotency-Key reused with another body):
 *   a log line and a metric, made visible again at once and reported as failed, so it reaches the
 *   dead-letter queue after maxReceiveCount quick receives instead of waiting out each timeout.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createEventWriter } from "../store/eventWriter";
import { errorName } from "../primitives/faults";
import { log } from "../ops/log";
import { newProcessorTally, writeProcessorMetrics, type ProcessorTally } from "../ops/metrics";
import { decodeClaimCheckedMessage } from "./queueMessage";
import type { EventRepository } from "../store/store";
import { checkCatalog, type Catalog } from "../events/catalog";
import { CATALOG_POLICY_OFF, type CatalogPolicy } from "../ops/config";

export interface ProcessorDependencies {
  repository: EventRepository;
  sqs: SQSClient;
  queueUrl: string;
  statusIndexShards: number;
  /** The producers' event body limit (config maxEventBytes): a message's payload must fit it. */
  maxEventBytes: number;
  /** The webhook function's body limit (config maxWebhookBytes), for webhook events; maxEventBytes when unset. */
  maxWebhookBytes?: number;
  /** TTL horizon in days, undefined when TTL is off: the stored ttl is derived with it. */
  retentionDays?: number;
  /** Clock, epoch milliseconds. */
  now?: () => number;
  /** The event catalogue, re-checked on every message under `catalogPolicy` (a queue is a trust boundary). */
  catalog?: Catalog;
  catalogPolicy?: CatalogPolicy;
}

/** A message that no retry can store. */
export class PermanentMessageFailure extends Error {
  constructor(readonly reason: string) {
    super(`message can never be stored: ${reason}`);
    this.name = "PermanentMessageFailure";
  }
}

export function createQueueProcessor(deps: ProcessorDependencies) {
  const now = deps.now ?? Date.now;
  // The same idempotent write as direct mode; the record was enriched by the ingest function.
  const writer = createEventWriter({ repository: deps.repository, config: { statusIndexShards: deps.statusIndexShards } });

  const catalog = deps.catalog ?? { types: {} };
  const policy = deps.catalogPolicy ?? CATALOG_POLICY_OFF;
  // The ingest function counted this event's finding already: the processor's run only decides.
  const recheck = (input: Parameters<typeof checkCatalog>[2]) => checkCatalog(catalog, policy, input);

  async function processMessage(message: SQSRecord, tally: ProcessorTally): Promise<void> {
    const checks = {
      statusIndexShards: deps.statusIndexShards,
      maxEventBytes: deps.maxEventBytes,
      ...(deps.maxWebhookBytes === undefined ? {} : { maxWebhookBytes: deps.maxWebhookBytes }),
      ...(deps.retentionDays === undefined ? {} : { retentionDays: deps.retentionDays }),
      nowMs: now(),
      checkCatalog: recheck,
      claimCheck: deps.repository.claimCheck,
    };
    let decoded;
    try {
      // A version-3 message's payload object is read here (ADR 0043); a fault reading it is retried.
      decoded = await decodeClaimCheckedMessage(message.body, checks, deps.repository.claimCheck ? deps.repository : undefined);
    } catch (error) {
      tally.retried += 1;
      log("WARN", "message will be retried", { message_id: message.messageId, error: errorName(error) ?? "Error", receive_count: receiveCount(message) });
      throw error;
    }
    if (!decoded.ok) return permanentFailure(message, tally, decoded.reason, decoded.detail);
    const { record, written } = decoded;
    let outcome;
    try {
      // A claim-checked message's item names the object the ingest function wrote: stored once.
      outcome = await writer.writeOne(record, written);
    } catch (error) {
      tally.retried += 1;
      log("WARN", "message will be retried", { message_id: message.messageId, event_id: record.event_id, error: errorName(error) ?? "Error", receive_count: receiveCount(message) });
      throw error;
    }
    if (outcome.status === 201) {
      tally.stored += 1;
      return;
    }
    if (outcome.status === 200) {
      tally.duplicates += 1;
      return;
    }
    return permanentFailure(message, tally, "idempotency_key_reused", "an event with this Idempotency-Key and a different body is already stored; it was kept", record.event_id);
  }

  async function permanentFailure(message: SQSRecord, tally: ProcessorTally, reason: string, detail: string, eventId?: string): Promise<never> {
    tally.unreadable += 1;
    log("ERROR", "message can never be stored; it goes to the dead-letter queue", {
      message_id: message.messageId,
      event_id: eventId,
      reason,
      detail,
      receive_count: receiveCount(message),
    });
    try {
      await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.receiptHandle, VisibilityTimeout: 0 }));
    } catch (error) {
      // It then comes back after the queue's visibility timeout instead; nothing is lost.
      log("WARN", "could not make the message visible again", { message_id: message.messageId, error: errorName(error) ?? "Error" });
    }
    throw new PermanentMessageFailure(reason);
  }

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const tally = newProcessorTally();
    // One processor per invocation: it holds the batch's successes and failures, so a shared one
    // mixes up invocations that overlap (the local stack's pollers run them in one process).
    const processor = new BatchProcessor(EventType.SQS);
    try {
      // A batch that fails whole is reported message by message too, not thrown: the function's
      // Errors metric then means a crash, not storage trouble the retries will ride out.
      return await processPartialResponse(event, (message: SQSRecord) => processMessage(message, tally), processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    } finally {
      writeProcessorMetrics(tally);
    }
  };
}

function receiveCount(message: SQSRecord): number {
  return Number(message.attributes?.ApproximateReceiveCount ?? 0);
}
