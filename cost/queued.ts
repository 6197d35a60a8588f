/**
 * What queued mode (ingestMode queued) adds to the bill of cost/model.ts: the SQS requests
 * (sends, the event source mapping's receives and deletes, its idle long polls), the processor's
 * invocations and duration, its log lines, and the GetItem of keyed requests. The ingest
 * function's own duration is taken to be what direct mode's is (a SendMessage waits about as long
 * as a PutItem: an assumption, like STORAGE_WAIT_MS). Pure arithmetic.
 */
import { PROCESSOR_HANDLER } from "../handlers/routes";
import { estimateCost, lineTotals, type CostEstimate, type CostLine, type MeasuredInputs, type Workload } from "./model";
import type { Prices, PricesFile } from "./prices";

export const SQS_PRICE_KEY = "sqs_per_million_requests";
/** SQS bills each 64 KB chunk of a request's payload as one request. */
export const SQS_BILLING_CHUNK_BYTES = 64 * 1024;
/**
 * Lambda's SQS pollers long-poll (20 s) even when the queue is empty; the documented minimum is
 * 5 pollers, so about 5 × 3 requests a minute: an assumption about an internal behaviour.
 */
export const IDLE_POLLS_PER_MONTH = 5 * 3 * 60 * 24 * 30.4375;
/** The processor's metrics line and Lambda's START/END/REPORT lines per invocation, bytes. */
export const PROCESSOR_LOG_BYTES_PER_INVOCATION = 900;

export interface QueuedOptions {
  /** Messages per processor invocation (config processorBatchSize). @default 10 */
  processorBatchSize?: number;
  /** Share of events sent with an idempotency key (one consistent GetItem each). @default 0 */
  keyedShare?: number;
}

/** The SQS price from the prices file; queued mode cannot be priced without it. */
export function sqsPrice(file: PricesFile): number {
  const entry = (file.prices as unknown as Record<string, { value?: unknown } | undefined>)[SQS_PRICE_KEY];
  if (typeof entry?.value !== "number") throw new Error(`the prices file has no ${SQS_PRICE_KEY}; add it (USD per million SQS requests) to price queued mode`);
  return entry.value;
}

export function estimateQueuedCost(workload: Workload, measured: MeasuredInputs, prices: Prices, sqsPerMillion: number, options: QueuedOptions = {}): CostEstimate {
  const direct = estimateCost(workload, measured, prices);
  const events = workload.eventsPerMonth;
  const processorBatch = options.processorBatchSize ?? 10;
  const keyedShare = options.keyedShare ?? 0;
  const messageBytes = direct.stored_item_bytes + 20; // the record as JSON plus the envelope
  const perMillion = (n: number, price: number) => (n / 1e6) * price;

  // One SendMessage per event, or one SendMessageBatch per 10 events of a batch request.
  const sendCalls = Math.ceil(events / workload.batchSize) * Math.ceil(workload.batchSize / 10);
  const sendChunks = sendCalls * Math.ceil((messageBytes * Math.min(workload.batchSize, 10)) / SQS_BILLING_CHUNK_BYTES);
  const batches = Math.ceil(events / processorBatch);
  const receives = batches * Math.ceil((messageBytes * Math.min(processorBatch, 10)) / SQS_BILLING_CHUNK_BYTES) + IDLE_POLLS_PER_MONTH;
  const deletes = batches;
  const sqsRequests = sendChunks + receives + deletes;

  // The processor: per message the same decode/validate CPU as an ingest request, per batch one
  // round of parallel conditional puts.
  const processorMs = Math.ceil(measured.ingestCpuMs.single * processorBatch + measured.storageWaitMs.single);
  const processorGbSeconds = (batches * processorMs * PROCESSOR_HANDLER.memoryMb) / 1024 / 1000;
  const keyedReads = events * keyedShare;
  const processorLogGb = (batches * PROCESSOR_LOG_BYTES_PER_INVOCATION) / 2 ** 30;

  const extra: CostLine[] = [
    { component: "SQS requests (send, receive, delete, idle polls)", quantity: sqsRequests, unit: "requests", usd: perMillion(sqsRequests, sqsPerMillion), kind: "ingest" },
    {
      component: `Lambda processor (${batches.toLocaleString("en-US")} batches of ${processorBatch}, ${processorMs} ms × ${PROCESSOR_HANDLER.memoryMb} MB)`,
      quantity: batches,
      unit: "invocations",
      usd: perMillion(batches, prices.lambda_per_million_requests) + processorGbSeconds * prices.lambda_arm64_per_gb_second,
      kind: "ingest",
    },
    { component: "CloudWatch Logs ingestion (processor)", quantity: processorLogGb, unit: "GB", usd: processorLogGb * prices.cloudwatch_logs_ingestion_per_gb, kind: "ingest" },
    ...(keyedReads > 0
      ? [{ component: "DynamoDB idempotency lookups (keyed requests)", quantity: keyedReads, unit: "read units", usd: perMillion(keyedReads, prices.dynamodb_per_million_read_request_units), kind: "ingest" as const }]
      : []),
  ];
  const lines = [...direct.lines.filter((l) => l.kind === "ingest"), ...extra, ...direct.lines.filter((l) => l.kind === "retention")];
  return { ...direct, ...lineTotals(lines, events, direct.floor_usd) };
}
