/**
 * The monthly cost of ingesting events, component by component, and its ratio to the DynamoDB
 * write floor. Pure arithmetic: prices and measured figures come in, dollars come out.
 *
 * Per-request costs (API Gateway, Lambda, CloudWatch Logs ingestion) fall with the batch size;
 * DynamoDB writes do not. The floor is what DynamoDB charges to write each event once into the
 * table and once into the status index (its ALL projection copies the item), the writes the
 * design cannot do without; the ingest path's cost is compared with it. Storage depends on how
 * long events and logs are kept, not on how they arrive, so it is reported apart from the ratio.
 */
import type { Prices } from "./prices";

export const WRITE_UNIT_BYTES = 1024;
export const DYNAMODB_ITEM_OVERHEAD_BYTES = 100;
/** HTTP API requests are metered in 512 KB increments. */
export const API_GATEWAY_METERING_BYTES = 512 * 1024;
/** An eventually consistent GetItem of up to 4 KB (the authorizer's key lookup). */
export const READ_UNITS_PER_KEY_LOOKUP = 0.5;
const GB = 2 ** 30;
const SECONDS_PER_MONTH = 30.4375 * 86_400;
const DAYS_PER_MONTH = 30.4375;

/** What the bench measured (bench/results.json) that the bill depends on. */
export interface MeasuredInputs {
  /** Request bytes of the typical event and the bytes DynamoDB counts for its stored item. */
  typicalRequestBytes: number;
  typicalStoredBytes: number;
  /**
   * The ingest handler's process CPU per request, ms on one full vCPU of the bench machine:
   * code only, measured against a DynamoDB endpoint that answers at once (bench/floor.ts).
   */
  ingestCpuMs: { single: number; batch25: number };
  /**
   * What a request waits for DynamoDB, ms. Not measurable without AWS: an assumption (see
   * STORAGE_WAIT_MS), which `npm run cost` can override.
   */
  storageWaitMs: { single: number; batch25: number };
  authorizerDurationMs: number;
  /** Bytes the ingest function logs per request (JSON line plus EMF metrics), single and batch. */
  ingestLogBytes: { single: number; batch25: number };
  authorizerLogBytes: number;
  /** One API Gateway access log line. */
  accessLogBytes: number;
  ingestMemoryMb: number;
  authorizerMemoryMb: number;
}

export interface Workload {
  eventsPerMonth: number;
  /** 1: POST /events; more: POST /events/batch with this many events. */
  batchSize: number;
  /** Request JSON bytes per event. */
  avgEventBytes: number;
  /** How long events stay in the table (TTL); sets the steady-state storage. */
  retentionDays: number;
  logRetentionDays: number;
  /** Distinct API keys in use; API Gateway caches each one's authorizer decision. */
  apiKeys: number;
  authorizerCacheTtlSeconds: number;
}

export interface CostLine {
  component: string;
  quantity: number;
  unit: string;
  usd: number;
  /** "ingest": per-event cost of the path; "retention": storage, set by how long data is kept. */
  kind: "ingest" | "retention";
}

export interface CostEstimate {
  lines: CostLine[];
  ingest_usd: number;
  retention_usd: number;
  total_usd: number;
  ingest_usd_per_million_events: number;
  total_usd_per_million_events: number;
  /** DynamoDB writes to the table and the status index. */
  floor_usd: number;
  floor_ratio: number;
  stored_item_bytes: number;
  write_units_per_event: number;
  requests: number;
}

/** Stored item bytes for events of `avgEventBytes`: the enrichment the bench measured, added. */
export function storedItemBytes(avgEventBytes: number, measured: MeasuredInputs): number {
  return avgEventBytes + (measured.typicalStoredBytes - measured.typicalRequestBytes);
}

/** Table write plus status-index write, each 1 unit per started KB. */
export function writeUnitsPerEvent(storedBytes: number): number {
  return 2 * Math.ceil(storedBytes / WRITE_UNIT_BYTES);
}

/** Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB. */
export const MB_PER_VCPU = 1769;
/** Ingest memory sizes `npm run cost` compares. */
export const MEMORY_SIZES_MB = [128, 256, 512, 1024, MB_PER_VCPU] as const;
/**
 * Assumed DynamoDB wait per request: a PutItem in the function's region within DynamoDB's
 * "single-digit millisecond" latency, a 25-item BatchWriteItem twice that.
 */
export const STORAGE_WAIT_MS = { single: 5, batch25: 10 } as const;

/** Linear in the batch size through the single-event and 25-event figures. */
function interpolate(batchSize: number, figures: { single: number; batch25: number }): number {
  return batchSize === 1 ? figures.single : figures.single + ((figures.batch25 - figures.single) * (batchSize - 1)) / 24;
}

/**
 * The ingest function's duration at `memoryMb`: its CPU per request stretched by its CPU share
 * (memory ÷ 1,769 MB; a single-threaded handler gains nothing above one vCPU), plus the wait
 * for DynamoDB, which no amount of CPU shortens.
 */
export function ingestDurationMs(batchSize: number, measured: MeasuredInputs, memoryMb = measured.ingestMemoryMb): number {
  const share = Math.min(1, memoryMb / MB_PER_VCPU);
  return interpolate(batchSize, measured.ingestCpuMs) / share + interpolate(batchSize, measured.storageWaitMs);
}

function ingestLogBytes(batchSize: number, measured: MeasuredInputs): number {
  return batchSize === 1 ? measured.ingestLogBytes.single : measured.ingestLogBytes.batch25;
}

/** The ingest function's monthly duration cost at each memory size, per million events. */
export function memorySizes(workload: Workload, measured: MeasuredInputs, prices: Prices): { memory_mb: number; duration_ms: number; billed_ms: number; duration_usd_per_million_events: number }[] {
  const requests = Math.ceil(workload.eventsPerMonth / workload.batchSize);
  return MEMORY_SIZES_MB.map((memoryMb) => {
    const durationMs = ingestDurationMs(workload.batchSize, measured, memoryMb);
    const billedMs = Math.ceil(durationMs);
    const gbSeconds = (requests * billedMs * memoryMb) / 1024 / 1000;
    return { memory_mb: memoryMb, duration_ms: durationMs, billed_ms: billedMs, duration_usd_per_million_events: (gbSeconds * prices.lambda_arm64_per_gb_second) / (workload.eventsPerMonth / 1e6) };
  });
}

export function estimateCost(workload: Workload, measured: MeasuredInputs, prices: Prices): CostEstimate {
  const { eventsPerMonth: events, batchSize } = workload;
  const requests = Math.ceil(events / batchSize);
  const requestBytes = batchSize * workload.avgEventBytes + (batchSize > 1 ? 12 + batchSize : 0);
  const meteredRequests = requests * Math.ceil(requestBytes / API_GATEWAY_METERING_BYTES);
  const stored = storedItemBytes(workload.avgEventBytes, measured);
  const writeUnits = events * writeUnitsPerEvent(stored);

  const billedMs = Math.ceil(ingestDurationMs(batchSize, measured));
  const ingestGbSeconds = (requests * billedMs * measured.ingestMemoryMb) / 1024 / 1000;

  const cacheRefreshes = workload.authorizerCacheTtlSeconds > 0 ? workload.apiKeys * Math.ceil(SECONDS_PER_MONTH / workload.authorizerCacheTtlSeconds) : requests;
  const authorizerCalls = Math.min(requests, cacheRefreshes);
  const authorizerGbSeconds = (authorizerCalls * Math.ceil(measured.authorizerDurationMs) * measured.authorizerMemoryMb) / 1024 / 1000;

  const logBytes = requests * (ingestLogBytes(batchSize, measured) + measured.accessLogBytes) + authorizerCalls * measured.authorizerLogBytes;
  const logGb = logBytes / GB;
  const storedGb = (events * (workload.retentionDays / DAYS_PER_MONTH) * 2 * (stored + DYNAMODB_ITEM_OVERHEAD_BYTES)) / GB;
  const archivedLogGb = logGb * (workload.logRetentionDays / DAYS_PER_MONTH);

  const perMillion = (n: number, price: number) => (n / 1e6) * price;
  const lines: CostLine[] = [
    { component: "API Gateway HTTP API requests", quantity: meteredRequests, unit: "requests", usd: perMillion(meteredRequests, prices.api_gateway_http_per_million_requests), kind: "ingest" },
    { component: "Lambda ingest invocations", quantity: requests, unit: "invocations", usd: perMillion(requests, prices.lambda_per_million_requests), kind: "ingest" },
    { component: `Lambda ingest duration (${billedMs} ms × ${measured.ingestMemoryMb} MB, arm64)`, quantity: ingestGbSeconds, unit: "GB-s", usd: ingestGbSeconds * prices.lambda_arm64_per_gb_second, kind: "ingest" },
    {
      component: "Lambda authorizer (cached per key)",
      quantity: authorizerCalls,
      unit: "invocations",
      usd: perMillion(authorizerCalls, prices.lambda_per_million_requests) + authorizerGbSeconds * prices.lambda_arm64_per_gb_second,
      kind: "ingest",
    },
    { component: "DynamoDB key lookups", quantity: authorizerCalls * READ_UNITS_PER_KEY_LOOKUP, unit: "read units", usd: perMillion(authorizerCalls * READ_UNITS_PER_KEY_LOOKUP, prices.dynamodb_per_million_read_request_units), kind: "ingest" },
    { component: "DynamoDB writes (table + status index)", quantity: writeUnits, unit: "write units", usd: perMillion(writeUnits, prices.dynamodb_per_million_write_request_units), kind: "ingest" },
    { component: "CloudWatch Logs ingestion", quantity: logGb, unit: "GB", usd: logGb * prices.cloudwatch_logs_ingestion_per_gb, kind: "ingest" },
    { component: `DynamoDB storage (${workload.retentionDays} days kept)`, quantity: storedGb, unit: "GB-month", usd: storedGb * prices.dynamodb_storage_per_gb_month, kind: "retention" },
    { component: `CloudWatch Logs storage (${workload.logRetentionDays} days kept)`, quantity: archivedLogGb, unit: "GB-month", usd: archivedLogGb * prices.cloudwatch_logs_storage_per_gb_month, kind: "retention" },
  ];
  const floor = perMillion(writeUnits, prices.dynamodb_per_million_write_request_units);
  return {
    ...lineTotals(lines, events, floor),
    floor_usd: floor,
    stored_item_bytes: stored,
    write_units_per_event: writeUnitsPerEvent(stored),
    requests,
  };
}

/** The sums every estimate reports from its lines: per kind, in all, per million events, against the write floor. */
export function lineTotals(lines: CostLine[], events: number, floorUsd: number) {
  const sum = (kind?: CostLine["kind"]) => lines.filter((l) => kind === undefined || l.kind === kind).reduce((s, l) => s + l.usd, 0);
  const millions = events / 1e6;
  return {
    lines,
    ingest_usd: sum("ingest"),
    retention_usd: sum("retention"),
    total_usd: sum(),
    ingest_usd_per_million_events: sum("ingest") / millions,
    total_usd_per_million_events: sum() / millions,
    floor_ratio: sum("ingest") / floorUsd,
  };
}
