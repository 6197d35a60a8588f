/**
 * The monthly cost of events that arrive through an SNS pipeline (config `pipeline`), component by
 * component: SNS publishes, the SQS buffer's requests, the pipe, the Express workflow's requests
 * and duration, the stage functions, the DynamoDB writes and the logs. Pure arithmetic, like
 * model.ts; the durations, sizes and log bytes come from `npm run bench` (bench/pipeline.ts).
 *
 * One assumption is not measured here: what Step Functions adds around each Lambda task (the
 * invoke round trip), `TASK_OVERHEAD_MS`. Express bills whole 100 ms steps, so it only matters
 * when it pushes an execution over a step boundary.
 */
import * as fs from "node:fs";
import { RESULTS_FILE } from "./measured";
import type { Prices } from "./prices";
import { writeUnitsPerEvent, type CostLine } from "./model";

/** SNS, SQS and Pipes meter a message or a batch in 64 KB chunks. */
export const MESSAGE_METERING_BYTES = 64 * 1024;
/** Per Lambda task, the time Step Functions spends invoking it beyond the function's duration (assumed). */
export const TASK_OVERHEAD_MS = 25;
/** Express bills memory in 64 MB chunks; a workflow of this size uses 50 MB + definition + data, so one chunk. */
export const EXPRESS_BILLED_MEMORY_MB = 64;
export const EXPRESS_BILLING_STEP_MS = 100;
/** Requests the buffer serves per message: SNS's SendMessage, the pipe's ReceiveMessage and DeleteMessage. */
export const SQS_REQUESTS_PER_MESSAGE = 3;

/** What the bench measured that the pipeline's bill depends on (results.json `pipeline_cost_inputs`). */
export interface PipelineMeasuredInputs {
  messageBytes: number;
  envelopeBytes: number;
  storedItemBytes: number;
  /** Per function, in execution order: its duration per event (ms) and memory (MB). */
  functions: { name: string; durationMs: number; memoryMb: number }[];
  logBytesPerEvent: number;
  stateTransitionsPerEvent: number;
}

export interface PipelineCostEstimate {
  lines: CostLine[];
  usd: number;
  usd_per_million_events: number;
  /** Express duration billed per execution, ms. */
  billed_execution_ms: number;
  /** The same executions as a Standard workflow: transitions instead of requests and duration (not in the total). */
  standard_workflow_usd_per_million_events: number;
}

export function estimatePipelineCost(eventsPerMonth: number, measured: PipelineMeasuredInputs, prices: Prices): PipelineCostEstimate {
  const events = eventsPerMonth;
  const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / MESSAGE_METERING_BYTES));
  const perMillion = (n: number, price: number) => (n / 1e6) * price;

  const publishes = events * chunks(measured.messageBytes);
  const sqsRequests = events * SQS_REQUESTS_PER_MESSAGE * chunks(measured.envelopeBytes);
  const pipeRequests = events * chunks(measured.envelopeBytes); // batchSize 1: one batch per message
  const functionsMs = measured.functions.reduce((sum, f) => sum + f.durationMs, 0);
  const billedExecutionMs = Math.ceil((functionsMs + measured.functions.length * TASK_OVERHEAD_MS) / EXPRESS_BILLING_STEP_MS) * EXPRESS_BILLING_STEP_MS;
  const expressGbSeconds = (events * billedExecutionMs * EXPRESS_BILLED_MEMORY_MB) / 1024 / 1000;
  const invocations = events * measured.functions.length;
  const lambdaGbSeconds = events * measured.functions.reduce((sum, f) => sum + (Math.ceil(f.durationMs) * f.memoryMb) / 1024 / 1000, 0);
  const writeUnits = events * writeUnitsPerEvent(measured.storedItemBytes);
  const logGb = (events * measured.logBytesPerEvent) / 2 ** 30;

  const lines: CostLine[] = [
    { component: "SNS publishes", quantity: publishes, unit: "requests", usd: perMillion(publishes, prices.sns_per_million_publishes), kind: "ingest" },
    { component: `SQS buffer (${SQS_REQUESTS_PER_MESSAGE} requests per message)`, quantity: sqsRequests, unit: "requests", usd: perMillion(sqsRequests, prices.sqs_per_million_requests), kind: "ingest" },
    { component: "EventBridge Pipes", quantity: pipeRequests, unit: "requests", usd: perMillion(pipeRequests, prices.eventbridge_pipes_per_million_requests), kind: "ingest" },
    { component: "Step Functions Express executions", quantity: events, unit: "requests", usd: perMillion(events, prices.step_functions_express_per_million_requests), kind: "ingest" },
    {
      component: `Step Functions Express duration (${billedExecutionMs} ms × ${EXPRESS_BILLED_MEMORY_MB} MB)`,
      quantity: expressGbSeconds,
      unit: "GB-s",
      usd: expressGbSeconds * prices.step_functions_express_per_gb_second,
      kind: "ingest",
    },
    { component: `Lambda invocations (${measured.functions.length} per event)`, quantity: invocations, unit: "invocations", usd: perMillion(invocations, prices.lambda_per_million_requests), kind: "ingest" },
    { component: "Lambda duration (all stages, arm64)", quantity: lambdaGbSeconds, unit: "GB-s", usd: lambdaGbSeconds * prices.lambda_arm64_per_gb_second, kind: "ingest" },
    { component: "DynamoDB writes (table + status index)", quantity: writeUnits, unit: "write units", usd: perMillion(writeUnits, prices.dynamodb_per_million_write_request_units), kind: "ingest" },
    { component: "CloudWatch Logs ingestion", quantity: logGb, unit: "GB", usd: logGb * prices.cloudwatch_logs_ingestion_per_gb, kind: "ingest" },
  ];
  const usd = lines.reduce((sum, l) => sum + l.usd, 0);
  return {
    lines,
    usd,
    usd_per_million_events: usd / (events / 1e6),
    billed_execution_ms: billedExecutionMs,
    standard_workflow_usd_per_million_events: measured.stateTransitionsPerEvent * prices.step_functions_standard_per_million_transitions,
  };
}

/** The inputs the last `npm run bench` recorded, or undefined when it predates the pipeline bench. */
export function readPipelineCostInputs(file = RESULTS_FILE): PipelineMeasuredInputs | undefined {
  if (!fs.existsSync(file)) return undefined;
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { pipeline_cost_inputs?: PipelineMeasuredInputs }).pipeline_cost_inputs;
}

/** The pipeline's lines for `npm run cost`, against the direct path's cost per million events. */
export function renderPipelineCost(estimate: PipelineCostEstimate, directUsdPerMillion: number): string {
  const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
  const quantity = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));
  const width = Math.max(...estimate.lines.map((l) => l.component.length));
  return [
    "the same events through the SNS pipeline (config pipeline: validate, 3 example stages, store), per month:",
    ...estimate.lines.map((l) => `  ${l.component.padEnd(width)}  ${quantity(l.quantity).padStart(15)} ${l.unit.padEnd(11)} ${usd(l.usd).padStart(10)}`),
    "",
    `  SNS pipeline            ${usd(estimate.usd).padStart(10)}/month   ${usd(estimate.usd_per_million_events)} per million events (${(estimate.usd_per_million_events / directUsdPerMillion).toFixed(2)}× POST /events at batch 1)`,
    `  as a Standard workflow  transitions alone would be ${usd(estimate.standard_workflow_usd_per_million_events)} per million events`,
  ].join("\n");
}
