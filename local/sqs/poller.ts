/**
 * The local stand-in for Lambda's SQS event source mapping: up to `maximumConcurrency` pollers
 * long-poll the queue (through the real SDK client, against the local SQS), gather up to
 * `batchSize` messages or until `batchingWindowSeconds` pass, invoke the function with an SQS
 * event, and then, as Lambda does with ReportBatchItemFailures:
 * - the function returned `batchItemFailures`: every other message is deleted;
 * - it returned an identifier that is not in the batch (or an empty one): the whole batch failed;
 * - it threw or timed out: nothing is deleted, every message comes back after its visibility timeout.
 * A clean stop hands back what it received but never gave the function (a batch still gathering):
 * those messages are made visible again at once, not left hidden for the visibility timeout.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { LocalFunction } from "../lambdaHost";

export interface EventSourcePollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  fn: LocalFunction;
  functionTimeoutMs: number;
  batchSize: number;
  batchingWindowSeconds: number;
  maximumConcurrency: number;
  /** Called after each invocation (tests and the dev banner's log). */
  onBatch?: (report: { size: number; failed: number; error?: string }) => void;
}

export interface EventSourcePoller {
  /** Stops polling and waits for invocations in progress. */
  stop(): Promise<void>;
  /** Invocations so far. */
  readonly invocations: number;
}

export function startEventSourcePoller(options: EventSourcePollerOptions): EventSourcePoller {
  let stopped = false;
  let invocations = 0;
  const workers = Array.from({ length: options.maximumConcurrency }, () => pollLoop());

  async function pollLoop(): Promise<void> {
    while (!stopped) {
      let messages: Message[];
      try {
        messages = await gather();
      } catch (error) {
        if (stopped) return;
        await sleep(200); // the queue is unreachable: back off, as Lambda's pollers do
        continue;
      }
      if (messages.length === 0) continue;
      if (stopped) return release(messages);
      invocations += 1;
      await invoke(messages);
    }
  }

  /** One batch: the first long poll, then more receives until the batch is full or the window closes. */
  async function gather(): Promise<Message[]> {
    const messages: Message[] = [];
    const first = await receive(Math.min(options.batchSize, 10), 1);
    messages.push(...first);
    if (messages.length === 0) return messages;
    const windowEnds = Date.now() + options.batchingWindowSeconds * 1000;
    while (!stopped && messages.length < options.batchSize && Date.now() < windowEnds) {
      const more = await receive(Math.min(options.batchSize - messages.length, 10), 0);
      if (more.length === 0) await sleep(Math.min(50, Math.max(0, windowEnds - Date.now())));
      messages.push(...more);
    }
    return messages;
  }

  async function receive(max: number, waitSeconds: number): Promise<Message[]> {
    const result = await options.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ["All"] }),
    );
    return result.Messages ?? [];
  }

  /** Visible again now: received during a stop, never handed to the function. */
  async function release(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      try {
        await options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl: options.queueUrl, Entries: chunk.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }),
        );
      } catch {
        // The queue is gone already: the messages come back after their visibility timeout instead.
      }
    }
  }

  async function invoke(messages: Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((m) => sqsRecord(m, options.queueArn, options.region)) };
    let failedIds: Set<string>;
    let error: string | undefined;
    try {
      const response = (await options.fn.invoke(event, options.functionTimeoutMs)) as SQSBatchResponse | undefined | null;
      failedIds = failuresOf(response, messages);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      failedIds = new Set(messages.map((m) => m.MessageId!));
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId!));
    for (let start = 0; start < done.length; start += 10) {
      const chunk = done.slice(start, start + 10);
      try {
        await options.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: chunk.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      } catch {
        // Not deleted: the messages come back and the function's idempotent write absorbs them.
      }
    }
    options.onBatch?.({ size: messages.length, failed: failedIds.size, ...(error === undefined ? {} : { error }) });
  }

  return {
    get invocations() {
      return invocations;
    },
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** A received message as Lambda's SQS event source mapping hands it to the function (one `Records` entry). */
export function sqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "LOCAL",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.DeadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: attributes.DeadLetterQueueSourceArn } : {}),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda's reading of a ReportBatchItemFailures response: an unknown or empty identifier fails the whole batch. */
export function failuresOf(response: SQSBatchResponse | undefined | null, messages: readonly Message[]): Set<string> {
  const all = new Set(messages.map((m) => m.MessageId!));
  if (response === undefined || response === null || response.batchItemFailures === undefined) return new Set();
  if (!Array.isArray(response.batchItemFailures)) return all;
  const failed = new Set<string>();
  for (const failure of response.batchItemFailures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== "string" || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
