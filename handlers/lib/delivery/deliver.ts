/**
 * The deliverer: Lambda hands it batches from the subscriptions' delivery queues. For each
 * message, re-validated in full: check it is the subscription's current, unsettled delivery; read
 * the event as stored and serialize it exactly as GET /events/{id} returns it; sign it (Standard
 * Webhooks, every accepted secret); POST it through the SSRF-safe sender; record the attempt. On
 * success the subscription's delivery is settled and, once every matching subscription has
 * delivered, the event. Storage calls are amortized over the batch (docs/adr/0041): one
 * BatchGetItem reads every message's state and event, two conditional updates per message settle
 * the state and the event, one BatchWriteItem writes every attempt's log item. On failure the message is hidden until the next attempt of the schedule
 * (ChangeMessageVisibility) and reported as a batch item failure; after the last attempt the
 * delivery and the event are `failed`, with an ERROR log line and the DeliveriesFailed metric.
 * Messages of one batch are sent concurrently, so one slow receiver costs one timeout, not a sum.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { publicEvent } from "../events/record";
import { log } from "../ops/log";
import { newDeliveryTally, writeDeliveryMetrics, type DeliveryTally } from "../ops/metrics";
import { writeJson } from "../primitives/json";
import type { EventRepository } from "../store/store";
import { pairKey, type AttemptItem, type DeliveryLog, type EventDeliveryFields } from "./deliveryLog";
import { parseDeliveryMessage, type DeliveryMessage } from "./message";
import { retryDelaySeconds } from "./schedule";
import { sendDelivery, type AttemptResult, type SendOptions } from "./sender";
import { signDelivery } from "./signing";
import { SigningSecretsUnavailableError, type SubscriptionSecretStore } from "./subscriptionSecrets";
import type { DeliveryConfig, DeliveryTarget } from "./subscriptions";

export interface DelivererDependencies {
  config: DeliveryConfig;
  repository: Pick<EventRepository, "tableName" | "decode">;
  deliveryLog: DeliveryLog;
  fields: EventDeliveryFields;
  secrets: SubscriptionSecretStore;
  sqs: SQSClient;
  /** @default sendDelivery */
  send?: (url: string, body: string, headers: Record<string, string>, options: SendOptions) => Promise<AttemptResult>;
  now?: () => number;
  random?: () => number;
}

type Outcome = "done" | { retryInSeconds: number };

/** What the batch's one read returned, and where each message leaves its attempt's log item. */
interface BatchContext {
  read: Awaited<ReturnType<DeliveryLog["statesAndEvents"]>>;
  logAttempt: (item: AttemptItem) => void;
}

/** One real attempt in the subscription's metrics. */
function countInTally(tally: DeliveryTally, result: AttemptResult): void {
  tally.attempts += 1;
  tally.latenciesMs.push(result.latencyMs);
}

/** The queue a record came from must be its subscription's own: the ARN's last part is the queue name. */
function fromItsQueue(record: SQSRecord, target: DeliveryTarget): boolean {
  return record.eventSourceARN.split(":").pop() === target.queueUrl.split("/").pop();
}

export function createDeliverer(deps: DelivererDependencies) {
  const send = deps.send ?? sendDelivery;
  const now = deps.now ?? Date.now;
  const { config } = deps;

  async function deliverOne(message: DeliveryMessage, target: DeliveryTarget, batch: BatchContext, tallyOf: (name: string) => DeliveryTally): Promise<Outcome> {
    const fields = { event_id: message.event_id, subscription: message.subscription, webhook_id: message.webhook_id };
    // The batch's read: a settled or superseded delivery wasted its event's read units, a live one saved a call.
    const state = batch.read.states.get(pairKey(message.event_id, message.subscription));
    if (!state || state.webhook_id !== message.webhook_id || state.state !== "pending") {
      log("INFO", "delivery message skipped: settled or superseded by a replay", { ...fields, state: state?.state ?? "missing" });
      return "done";
    }
    const item = batch.read.events.get(message.event_id);
    if (!item) {
      log("WARN", "delivery skipped: the event no longer exists", fields);
      return "done";
    }
    const stored = await deps.repository.decode(item);
    let secrets: string[];
    try {
      secrets = await deps.secrets.secretsOf(target);
    } catch (error) {
      if (!(error instanceof SigningSecretsUnavailableError)) throw error;
      log("WARN", "delivery postponed: signing secrets unavailable", { ...fields, reason: error.reason });
      return { retryInSeconds: Math.max(1, Math.ceil(30 * config.scheduleScale)) };
    }

    const body = writeJson(publicEvent(stored));
    const headers = signDelivery({ webhookId: message.webhook_id, timestampSeconds: Math.floor(now() / 1000), body, secrets });
    const result = await send(target.url, body, { ...headers }, { timeoutMs: config.timeoutMs, allowLoopback: config.allowLoopback });
    // The dispatcher matched this event to this subscription alone, and no replay has touched it:
    // its delivery settles the event, and no other subscription's state needs reading.
    const sole = state.matched === 1 && state.generation === 0 && stored.status === "pending";
    if (result.ok) return settleDelivered(message, result, sole, batch, tallyOf(message.subscription));
    return settleFailedAttempt(message, result, batch, tallyOf(message.subscription));
  }

  /**
   * A 2xx: one conditional write counts the attempt and settles the subscription's state (its
   * ReturnValues give the attempt's number for the log item, which goes to the batch's
   * BatchWriteItem); then the event's fields are written (the attempt counted in the event's status
   * change when it settles the event). When the conditional write finds the delivery superseded or
   * settled meanwhile, the attempt is only counted, as any attempt is.
   */
  async function settleDelivered(message: DeliveryMessage, result: AttemptResult, sole: boolean, batch: BatchContext, tally: DeliveryTally): Promise<Outcome> {
    const { event_id: eventId, subscription, webhook_id: webhookId } = message;
    const at = new Date(now()).toISOString();
    const settled = await deps.deliveryLog.settleDelivered(eventId, subscription, webhookId, at);
    let attempt: number;
    if (settled) {
      attempt = settled.attempt;
      batch.logAttempt(deps.deliveryLog.attemptItem(eventId, subscription, webhookId, attempt, at, result));
      await settleEvent(eventId, sole);
    } else {
      attempt = await countAttempt(message, at, result, batch);
    }
    countInTally(tally, result);
    tally.delivered += 1;
    log("INFO", "delivered", { event_id: eventId, subscription, webhook_id: webhookId, attempt, status_code: result.status ?? null, error: null, latency_ms: result.latencyMs });
    return "done";
  }

  /** After this subscription settled delivered: the event is delivered once every matching subscription is, and the attempt counted either way. */
  async function settleEvent(eventId: string, sole: boolean): Promise<void> {
    if (sole && (await deps.fields.deliveredFromPending(eventId, { countingAttempt: true }))) return;
    const states = await deps.deliveryLog.states(eventId);
    if (states.every((s) => s.state === "delivered")) await deps.fields.delivered(eventId, { countingAttempt: true });
    else await deps.fields.countAttempt(eventId);
  }

  /**
   * An attempt that settles nothing: counted in the subscription's state and in the event's
   * `delivery_attempts`, its log item left for the batch's write; returns its number.
   */
  async function countAttempt(message: DeliveryMessage, at: string, result: AttemptResult, batch: BatchContext): Promise<number> {
    const { event_id: eventId, subscription, webhook_id: webhookId } = message;
    const [attempt] = await Promise.all([deps.deliveryLog.countStateAttempt(eventId, subscription, webhookId, at), deps.fields.countAttempt(eventId)]);
    batch.logAttempt(deps.deliveryLog.attemptItem(eventId, subscription, webhookId, attempt, at, result));
    return attempt;
  }

  async function settleFailedAttempt(message: DeliveryMessage, result: AttemptResult, batch: BatchContext, tally: DeliveryTally): Promise<Outcome> {
    const attempt = await countAttempt(message, new Date(now()).toISOString(), result, batch);
    countInTally(tally, result);
    const fields = { event_id: message.event_id, subscription: message.subscription, webhook_id: message.webhook_id, attempt, status_code: result.status ?? null, error: result.error ?? null, latency_ms: result.latencyMs };
    tally.attemptsFailed += 1;
    if (attempt >= config.maxAttempts) {
      tally.failed += 1;
      log("ERROR", "delivery failed after the last attempt", { ...fields, max_attempts: config.maxAttempts });
      if (await deps.deliveryLog.settleFailed(message.event_id, message.subscription, message.webhook_id)) await deps.fields.failed(message.event_id);
      return "done";
    }
    const delay = retryDelaySeconds({
      attempt,
      scale: config.scheduleScale,
      ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
      ...(deps.random ? { random: deps.random } : {}),
    });
    log("WARN", "delivery attempt failed; retrying", { ...fields, retry_in_seconds: delay });
    return { retryInSeconds: delay };
  }

  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const tallies = new Map<string, DeliveryTally>();
    const tallyOf = (name: string) => {
      let tally = tallies.get(name);
      if (!tally) tallies.set(name, (tally = newDeliveryTally()));
      return tally;
    };
    const records = event.Records ?? [];
    // Every record re-validated first; only ours take part in the batch's read.
    const messages = records.map((record): { message: DeliveryMessage; target: DeliveryTarget } | undefined => {
      const parsed = parseDeliveryMessage(record.body);
      const target = parsed.ok ? config.subscriptions.get(parsed.message.subscription) : undefined;
      if (parsed.ok && target && fromItsQueue(record, target)) return { message: parsed.message, target };
      // Not ours: to the dead-letter queue without waiting (visibility 0, reported as failed).
      log("ERROR", "unreadable delivery message", { message_id: record.messageId, reason: parsed.ok ? "unknown subscription or wrong queue" : parsed.reason });
      return undefined;
    });
    const ours = messages.filter((m): m is NonNullable<typeof m> => m !== undefined);
    let read: BatchContext["read"] | undefined;
    if (ours.length > 0) {
      try {
        read = await deps.deliveryLog.statesAndEvents(ours.map(({ message }) => ({ eventId: message.event_id, subscription: message.subscription })), deps.repository);
      } catch (error) {
        log("WARN", "delivery read failed; the batch will be retried", { messages: ours.length, error: (error as Error)?.name ?? "Error" });
      }
    }
    // Each message's attempt item, by the record's index: written together once every message has settled.
    const attemptItems: { index: number; item: AttemptItem }[] = [];
    const outcomes = await Promise.all(
      records.map(async (record, index): Promise<Outcome> => {
        const m = messages[index];
        if (!m) return { retryInSeconds: 0 };
        // Storage trouble while reading or recording: the message comes back after the queue's visibility timeout.
        if (!read) return { retryInSeconds: -1 };
        try {
          return await deliverOne(m.message, m.target, { read, logAttempt: (item) => attemptItems.push({ index, item }) }, tallyOf);
        } catch (error) {
          log("WARN", "delivery bookkeeping failed; the message will be retried", { message_id: record.messageId, error: (error as Error)?.name ?? "Error" });
          return { retryInSeconds: -1 };
        }
      }),
    );
    if (attemptItems.length > 0) {
      // The attempts' log items in one BatchWriteItem (per 25). Their states and events are already
      // written; a message whose item could not be written comes back after the queue's visibility
      // timeout, as after any bookkeeping failure (docs/adr/0041): a settled delivery is then skipped
      // as settled (its log item lost), a pending one makes its next attempt.
      const unwritten = await deps.deliveryLog.writeAttempts(attemptItems.map(({ item }) => item));
      const lost = attemptItems.filter(({ item }) => unwritten.has(item));
      for (const { index } of lost) outcomes[index] = { retryInSeconds: -1 };
      if (lost.length > 0) log("WARN", "attempt log items not written; their messages will be retried", { items: lost.length, message_ids: lost.map(({ index }) => records[index]!.messageId).join(",") });
    }
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    await Promise.all(
      outcomes.map(async (outcome, i) => {
        if (outcome === "done") return;
        const record = records[i]!;
        batchItemFailures.push({ itemIdentifier: record.messageId });
        if (outcome.retryInSeconds < 0) return;
        const queueUrl = queueUrlOf(record);
        if (!queueUrl) return;
        try {
          await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: outcome.retryInSeconds }));
        } catch {
          // The message returns after the queue's own visibility timeout instead: later, not lost.
        }
      }),
    );
    if (tallies.size > 0) writeDeliveryMetrics(tallies);
    return { batchItemFailures };
  };

  /** The URL of the queue a record came from, by its ARN's queue name (only our subscriptions' queues). */
  function queueUrlOf(record: SQSRecord): string | undefined {
    const name = record.eventSourceARN.split(":").pop();
    for (const target of config.subscriptions.values()) if (target.queueUrl.split("/").pop() === name) return target.queueUrl;
    return undefined;
  }
}
