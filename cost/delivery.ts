/**
 * The cost of delivering events to subscribers (config `subscriptions`, docs/adr/0033), per engine:
 * the one the stack runs (a per-subscription SQS queue and a deliverer function) and the two it was
 * compared with (EventBridge API destinations, a Step Functions Standard workflow). Pure
 * arithmetic, like model.ts: a delivery is one event sent to one matching subscription, and it
 * takes `attemptsPerDelivery` attempts on average (1 when every receiver answers 2xx at once).
 *
 * What is assumed rather than measured, and why:
 * - the deliverer waits for the receiver (`receiverMs`, default 200 ms) plus `DELIVERER_OVERHEAD_MS`
 *   (signing, one SSM read per cold start, its four DynamoDB calls in a batch of one); its CPU is
 *   small beside that wait;
 * - per attempt the deliverer reads the subscription's state item and the event (one consistent
 *   BatchGetItem per SQS batch, billed per item: docs/adr/0041) and writes three items: the state
 *   (a conditional update), the event's delivery fields (billed by the event's size) and the
 *   attempt's log item (BatchWriteItem, billed per item); once per delivery the status change
 *   rewrites the event's status-index entry; when an event matches several subscriptions each
 *   successful delivery also reads every state (a consistent Query of a few small items);
 * - Lambda's SQS poller hands the deliverer one message per invocation (the worst case: a quiet
 *   queue; a busy one batches, which only lowers the Lambda lines);
 * - the state machine spends three transitions per attempt (the Lambda task, a Choice on its
 *   answer, a Wait before the next try) and the EventBridge rule one API-destination invocation
 *   per attempt (the pricing page bills each invocation).
 */
import type { Prices } from "./prices";
import { WRITE_UNIT_BYTES } from "./model";
import { IDLE_POLLS_PER_MONTH } from "./queued";

/** The engines `npm run cost` compares. */
export const DELIVERY_ENGINES = ["sqs-lambda", "eventbridge-api-destinations", "step-functions-standard"] as const;
export type DeliveryEngine = (typeof DELIVERY_ENGINES)[number];

/**
 * Signing, one SSM read per cold start, and the deliverer's four DynamoDB calls for a batch of one
 * (the read, the state's and the event's updates, the attempt item's write) at about 5 ms each in
 * the same region, ms (assumed).
 */
export const DELIVERER_OVERHEAD_MS = 20;
/** The dispatcher's stream batch (records per invocation) and its duration per batch (assumed). */
export const DISPATCH_BATCH = 10;
export const DISPATCH_MS = 20;
export const DISPATCHER_MEMORY_MB = 128;
/** One attempt's record in the deliveries table: keys, status, latency, and up to 1 KB of the response body. */
export const ATTEMPT_RECORD_BYTES = 1400;
/** A subscription's state item in the deliveries table (keys, state, webhook-id, counters, times). */
export const STATE_ITEM_BYTES = 400;
/** A strongly consistent read is billed one read unit per 4 KB of each item. */
export const READ_UNIT_BYTES = 4096;
/** The deliverer's log line and Lambda's START/END/REPORT lines per attempt, bytes. */
export const LOG_BYTES_PER_ATTEMPT = 1000;
/** Step Functions Standard: Task, Choice and Wait per attempt (assumed workflow shape). */
export const TRANSITIONS_PER_ATTEMPT = 3;
/** EventBridge bills custom events and API-destination invocations per 64 KB chunk. */
export const EVENTBRIDGE_CHUNK_BYTES = 64 * 1024;

export interface DeliveryWorkload {
  /** Events stored per month. */
  eventsPerMonth: number;
  /** Subscriptions an event matches on average: deliveries = events × this. */
  deliveriesPerEvent: number;
  /** Attempts per delivery on average, ≥ 1. */
  attemptsPerDelivery: number;
  /** The receiver's answer time, ms. */
  receiverMs: number;
  /** The stored event's bytes (the events table's item, the body POSTed). */
  eventBytes: number;
  /** Subscriptions configured: each has a queue whose idle long polls cost money every month. */
  subscriptions: number;
  /** The deliverer's memory. */
  delivererMemoryMb: number;
}

export interface DeliveryLine {
  component: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface DeliveryEstimate {
  engine: DeliveryEngine;
  /** What it can sign with: Standard Webhooks needs an HMAC over id, timestamp and body at each attempt. */
  signing: string;
  lines: DeliveryLine[];
  usd: number;
  usd_per_million_deliveries: number;
  /** Per month whatever the traffic (idle queue polls), not in `usd_per_million_deliveries`. */
  fixed_usd_per_month: number;
}

const perMillion = (n: number, price: number) => (n / 1e6) * price;
const units = (bytes: number) => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));

export function requireDeliveryWorkload(w: DeliveryWorkload): DeliveryWorkload {
  if (!(w.attemptsPerDelivery >= 1)) throw new Error(`attempts per delivery must be at least 1, got ${w.attemptsPerDelivery}`);
  if (!(w.deliveriesPerEvent > 0)) throw new Error(`deliveries per event must be positive, got ${w.deliveriesPerEvent}`);
  if (!(w.receiverMs >= 0)) throw new Error(`receiver time must be ≥ 0 ms, got ${w.receiverMs}`);
  return w;
}

/**
 * What signing an attempt costs wherever it runs: the Lambda that signs and POSTs, its reads (the
 * state item and the event, consistent), its writes (the state item, the events table's delivery
 * fields, the attempt's record), and the log lines. The SQS engine and the Step Functions engine
 * both need it; EventBridge has no place to run it.
 */
function signedAttemptLines(w: DeliveryWorkload, deliveries: number, prices: Prices, invoker: string): DeliveryLine[] {
  const attempts = deliveries * w.attemptsPerDelivery;
  const billedMs = Math.ceil(w.receiverMs + DELIVERER_OVERHEAD_MS);
  const gbSeconds = (attempts * billedMs * w.delivererMemoryMb) / 1024 / 1000;
  // Per attempt, successful or failed: the state item's update, the event's delivery fields (an
  // update is billed by the item's size) and the attempt's record; once per delivery, the status
  // change rewrites the event's status-index entry (a delete and a put of the projected item).
  const writeUnits = attempts * (units(STATE_ITEM_BYTES) + units(w.eventBytes) + units(ATTEMPT_RECORD_BYTES)) + deliveries * 2 * units(w.eventBytes);
  // Per attempt: the state item and the event, strongly consistent, each billed per 4 KB; per
  // successful delivery of an event matched by several subscriptions, the states Query (a few small items).
  const stateQueries = w.deliveriesPerEvent > 1 ? deliveries : 0;
  const readUnitsUsed = attempts * (readUnits(STATE_ITEM_BYTES) + readUnits(w.eventBytes)) + stateQueries * readUnits(STATE_ITEM_BYTES * Math.ceil(w.deliveriesPerEvent));
  const logGb = (attempts * LOG_BYTES_PER_ATTEMPT) / 2 ** 30;
  return [
    {
      component: `Lambda deliverer (${invoker}; ${billedMs} ms × ${w.delivererMemoryMb} MB per attempt)`,
      quantity: attempts,
      unit: "invocations",
      usd: perMillion(attempts, prices.lambda_per_million_requests) + gbSeconds * prices.lambda_arm64_per_gb_second,
    },
    { component: "DynamoDB reads (state item and event per attempt, states Query)", quantity: readUnitsUsed, unit: "read units", usd: perMillion(readUnitsUsed, prices.dynamodb_per_million_read_request_units) },
    { component: "DynamoDB writes (state, delivery fields, attempt log, status index)", quantity: writeUnits, unit: "write units", usd: perMillion(writeUnits, prices.dynamodb_per_million_write_request_units) },
    { component: "CloudWatch Logs ingestion (deliverer)", quantity: logGb, unit: "GB", usd: logGb * prices.cloudwatch_logs_ingestion_per_gb },
  ];
}

/** The stream consumer that turns each stored event into messages (or executions): a few per batch. */
function dispatcherLine(w: DeliveryWorkload, prices: Prices): DeliveryLine {
  const invocations = Math.ceil(w.eventsPerMonth / DISPATCH_BATCH);
  const gbSeconds = (invocations * DISPATCH_MS * DISPATCHER_MEMORY_MB) / 1024 / 1000;
  return {
    component: `Lambda dispatcher (stream batches of ${DISPATCH_BATCH}; stream reads by Lambda are free)`,
    quantity: invocations,
    unit: "invocations",
    usd: perMillion(invocations, prices.lambda_per_million_requests) + gbSeconds * prices.lambda_arm64_per_gb_second,
  };
}

export function estimateDeliveryCost(engine: DeliveryEngine, workload: DeliveryWorkload, prices: Prices): DeliveryEstimate {
  const w = requireDeliveryWorkload(workload);
  const deliveries = w.eventsPerMonth * w.deliveriesPerEvent;
  const attempts = deliveries * w.attemptsPerDelivery;
  let lines: DeliveryLine[];
  let signing: string;
  let fixed = 0;
  if (engine === "sqs-lambda") {
    // SendMessage once, ReceiveMessage per attempt, ChangeMessageVisibility per retry, DeleteMessage once.
    const requests = deliveries * 2 + attempts + (attempts - deliveries);
    lines = [
      dispatcherLine(w, prices),
      { component: "SQS requests (send, receive per attempt, visibility change per retry, delete)", quantity: requests, unit: "requests", usd: perMillion(requests, prices.sqs_per_million_requests) },
      ...signedAttemptLines(w, deliveries, prices, "SQS event source mapping"),
    ];
    fixed = perMillion(IDLE_POLLS_PER_MONTH * w.subscriptions, prices.sqs_per_million_requests);
    signing = "Standard Webhooks: the deliverer signs each attempt with the subscription's secrets";
  } else if (engine === "eventbridge-api-destinations") {
    const chunks = Math.ceil(w.eventBytes / EVENTBRIDGE_CHUNK_BYTES);
    const published = w.eventsPerMonth * chunks;
    const invocations = attempts * chunks;
    lines = [
      dispatcherLine(w, prices),
      { component: "EventBridge custom events (PutEvents, per 64 KB chunk)", quantity: published, unit: "events", usd: perMillion(published, prices.eventbridge_per_million_custom_events) },
      { component: "EventBridge API destination invocations (per attempt)", quantity: invocations, unit: "invocations", usd: perMillion(invocations, prices.eventbridge_api_destinations_per_million_invocations) },
    ];
    signing = "none: a connection sends Basic, API-key or OAuth client-credentials headers; no HMAC over the body, no per-attempt timestamp";
  } else {
    const transitions = attempts * TRANSITIONS_PER_ATTEMPT;
    lines = [
      dispatcherLine(w, prices),
      { component: `Step Functions Standard transitions (${TRANSITIONS_PER_ATTEMPT} per attempt)`, quantity: transitions, unit: "transitions", usd: perMillion(transitions, prices.step_functions_standard_per_million_transitions) },
      ...signedAttemptLines(w, deliveries, prices, "Lambda task"),
    ];
    signing = "Standard Webhooks only through a Lambda task (the HTTP task uses EventBridge connections: no HMAC)";
  }
  const usd = lines.reduce((sum, l) => sum + l.usd, 0);
  return { engine, signing, lines, usd, usd_per_million_deliveries: usd / (deliveries / 1e6), fixed_usd_per_month: fixed };
}

/** Every engine for the same workload, the chosen one first. */
export function compareDeliveryEngines(workload: DeliveryWorkload, prices: Prices): DeliveryEstimate[] {
  return DELIVERY_ENGINES.map((engine) => estimateDeliveryCost(engine, workload, prices));
}

/** The comparison as `npm run cost` prints it. */
export function renderDeliveryCost(estimates: DeliveryEstimate[], workload: DeliveryWorkload): string {
  const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
  const quantity = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));
  const chosen = estimates[0]!;
  const width = Math.max(...estimates.flatMap((e) => e.lines.map((l) => l.component.length)));
  return [
    `delivery (config subscriptions): ${workload.deliveriesPerEvent} matching subscription(s) per event, ${workload.attemptsPerDelivery} attempts per delivery, ` +
      `receiver answers in ${workload.receiverMs} ms (docs/adr/0033)`,
    ...estimates.flatMap((e) => [
      `${e.engine}${e === chosen ? " (this stack)" : ""}, per month:`,
      ...e.lines.map((l) => `  ${l.component.padEnd(width)}  ${quantity(l.quantity).padStart(15)} ${l.unit.padEnd(11)} ${usd(l.usd).padStart(10)}`),
    ]),
    "",
    "per million deliveries, by engine:",
    ...estimates.map(
      (e) =>
        `  ${e.engine.padEnd(30)} ${usd(e.usd_per_million_deliveries).padStart(10)}` +
        (e === chosen ? `   + ${usd(e.fixed_usd_per_month)}/month of idle queue polls for ${workload.subscriptions} subscription(s)` : `   (${(e.usd_per_million_deliveries / chosen.usd_per_million_deliveries).toFixed(2)}× this stack)`) +
        `\n    signs: ${e.signing}`,
    ),
  ].join("\n");
}
