/**
 * Business metrics as CloudWatch embedded metric format (EMF): log lines that CloudWatch Logs
 * turns into metrics on arrival, so counting costs no API call, no latency and no permission
 * beyond writing logs. Each line is also an ordinary structured log line (`message: "metrics"`),
 * written through the same sink as every other log line.
 *
 * Per ingest request, one line with the counts of events accepted, duplicates and rejected
 * (dimension FunctionName), and one line per rejection reason (dimensions FunctionName, Reason).
 * Reasons are the problem `code`s the client sees (`validation_failed`, `payload_too_large`, …;
 * `storage_unavailable` and `internal_error` for events that failed on our side). A batch refused
 * as a whole counts once.
 */
import { log, type LogFields } from "./log";

/** The CloudWatch namespace of every business metric; the dashboard reads the same constants. */
export const METRICS_NAMESPACE = "EventIngestion";
export const INGEST_METRICS = { accepted: "EventsAccepted", duplicates: "EventsDuplicate", rejected: "EventsRejected" } as const;
export const METRIC_DIMENSIONS = { function: "FunctionName", reason: "Reason" } as const;
/**
 * Per processor invocation (queued mode): events stored, redeliveries that found their event
 * already stored, messages left for a retry (storage trouble), and messages that can never be
 * stored (unreadable, or an Idempotency-Key reused with another body), which go to the DLQ.
 */
export const PROCESSOR_METRICS = {
  stored: "EventsStored",
  duplicates: "RedeliveriesCollapsed",
  retried: "MessagesRetried",
  unreadable: "MessagesUnprocessable",
} as const;

export type ProcessorTally = Record<keyof typeof PROCESSOR_METRICS, number>;

export function newProcessorTally(): ProcessorTally {
  return { stored: 0, duplicates: 0, retried: 0, unreadable: 0 };
}

/** Writes one invocation's processor counts as one EMF line. */
export function writeProcessorMetrics(tally: ProcessorTally, context: MetricContext = {}): void {
  const functionName = context.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? "local";
  writeEmf(context.nowMs ?? Date.now(), { [METRIC_DIMENSIONS.function]: functionName }, {
    [PROCESSOR_METRICS.stored]: tally.stored,
    [PROCESSOR_METRICS.duplicates]: tally.duplicates,
    [PROCESSOR_METRICS.retried]: tally.retried,
    [PROCESSOR_METRICS.unreadable]: tally.unreadable,
  });
}

/** What one request came to, event by event. */
export interface IngestTally {
  accepted: number;
  duplicates: number;
  /** Rejected events per reason. */
  rejected: Map<string, number>;
}

export function newIngestTally(): IngestTally {
  return { accepted: 0, duplicates: 0, rejected: new Map() };
}

export function countRejection(tally: IngestTally, reason: string, events = 1): void {
  tally.rejected.set(reason, (tally.rejected.get(reason) ?? 0) + events);
}

export interface MetricContext {
  /** Epoch milliseconds the datapoints belong to. @default Date.now() */
  nowMs?: number;
  /** Lambda sets AWS_LAMBDA_FUNCTION_NAME; the local stack has none. @default that, or "local" */
  functionName?: string;
}

/** Writes the request's EMF lines. */
export function writeIngestMetrics(tally: IngestTally, context: MetricContext = {}): void {
  const nowMs = context.nowMs ?? Date.now();
  const functionName = context.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? "local";
  const totalRejected = [...tally.rejected.values()].reduce((sum, n) => sum + n, 0);
  writeEmf(nowMs, { [METRIC_DIMENSIONS.function]: functionName }, {
    [INGEST_METRICS.accepted]: tally.accepted,
    [INGEST_METRICS.duplicates]: tally.duplicates,
    [INGEST_METRICS.rejected]: totalRejected,
  });
  for (const [reason, count] of tally.rejected) {
    writeEmf(nowMs, { [METRIC_DIMENSIONS.function]: functionName, [METRIC_DIMENSIONS.reason]: reason }, { [INGEST_METRICS.rejected]: count });
  }
}

/**
 * Under `catalogMode: warn` / `unknownEventTypes: warn`, each event stored flagged: the metric
 * `SchemaViolations` by declared event type (bounded by the catalogue), or `UnknownEventTypes`
 * without the type (producers choose it, and each dimension value is a metric billed on its own).
 */
export const CATALOG_METRICS = { schemaViolation: "SchemaViolations", unknownEventType: "UnknownEventTypes" } as const;
export const CATALOG_EVENT_TYPE_DIMENSION = "EventType";

export function writeCatalogFinding(finding: { kind: "schema_violation" | "unknown_event_type"; eventType: string }, context: MetricContext = {}): void {
  const functionName = context.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? "local";
  const nowMs = context.nowMs ?? Date.now();
  if (finding.kind === "unknown_event_type") {
    writeEmf(nowMs, { [METRIC_DIMENSIONS.function]: functionName }, { [CATALOG_METRICS.unknownEventType]: 1 });
  } else {
    writeEmf(nowMs, { [METRIC_DIMENSIONS.function]: functionName, [CATALOG_EVENT_TYPE_DIMENSION]: finding.eventType }, { [CATALOG_METRICS.schemaViolation]: 1 });
  }
}

/** One EMF document: the `_aws` metadata, the dimension values and the counts as root members. */
function writeEmf(nowMs: number, dimensions: Record<string, string>, counts: Record<string, number>): void {
  const document = {
    _aws: {
      Timestamp: nowMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.keys(counts).map((name) => ({ Name: name, Unit: "Count" })),
        },
      ],
    },
    ...dimensions,
    ...counts,
  };
  // log() serializes its fields with JSON.stringify, so the nested `_aws` object arrives intact;
  // LogFields is flat on purpose (request log lines stay flat), hence the cast for this one caller.
  log("INFO", "metrics", document as unknown as LogFields);
}

/**
 * Per deliverer invocation and subscription (dimension Subscription): attempts made, attempts that
 * failed, deliveries that succeeded, deliveries that failed for good after their last attempt (the
 * alarm's metric), and each attempt's latency in milliseconds.
 */
export const DELIVERY_METRICS = {
  attempts: "DeliveryAttempts",
  attemptsFailed: "DeliveryAttemptsFailed",
  delivered: "DeliveriesSucceeded",
  failed: "DeliveriesFailed",
  latency: "DeliveryAttemptLatency",
} as const;
export const DELIVERY_METRIC_DIMENSION = "Subscription";

export interface DeliveryTally {
  attempts: number;
  attemptsFailed: number;
  delivered: number;
  failed: number;
  latenciesMs: number[];
}

export function newDeliveryTally(): DeliveryTally {
  return { attempts: 0, attemptsFailed: 0, delivered: 0, failed: 0, latenciesMs: [] };
}

/** One EMF line per subscription; latencies go as an EMF value array (CloudWatch computes the percentiles). */
export function writeDeliveryMetrics(tallies: ReadonlyMap<string, DeliveryTally>, context: MetricContext = {}): void {
  const nowMs = context.nowMs ?? Date.now();
  for (const [subscription, tally] of tallies) {
    const document = {
      _aws: {
        Timestamp: nowMs,
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [[DELIVERY_METRIC_DIMENSION]],
            Metrics: [
              { Name: DELIVERY_METRICS.attempts, Unit: "Count" },
              { Name: DELIVERY_METRICS.attemptsFailed, Unit: "Count" },
              { Name: DELIVERY_METRICS.delivered, Unit: "Count" },
              { Name: DELIVERY_METRICS.failed, Unit: "Count" },
              ...(tally.latenciesMs.length > 0 ? [{ Name: DELIVERY_METRICS.latency, Unit: "Milliseconds" }] : []),
            ],
          },
        ],
      },
      [DELIVERY_METRIC_DIMENSION]: subscription,
      [DELIVERY_METRICS.attempts]: tally.attempts,
      [DELIVERY_METRICS.attemptsFailed]: tally.attemptsFailed,
      [DELIVERY_METRICS.delivered]: tally.delivered,
      [DELIVERY_METRICS.failed]: tally.failed,
      ...(tally.latenciesMs.length > 0 ? { [DELIVERY_METRICS.latency]: tally.latenciesMs } : {}),
    };
    log("INFO", "metrics", document as unknown as LogFields);
  }
}
