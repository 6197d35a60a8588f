/**
 * `npm run cost -- --events-per-month N [--batch-size B] [--avg-bytes S]`: the monthly bill of
 * ingesting N events, component by component, with the durations, log sizes and item size the
 * last `npm run bench` measured (bench/results.json) and the prices in bench/prices.json.
 */
import { parseArgs } from "node:util";
import { LIMITS } from "../handlers/lib/limits";
import { readMeasuredInputs } from "../bench/cost/measured";
import { estimateCost, type CostEstimate, type Workload } from "../bench/cost/model";
import { DEFAULT_PRICES_FILE, loadPrices } from "../bench/cost/prices";
import { estimatePipelineCost, readPipelineCostInputs, renderPipelineCost } from "../bench/cost/pipelineModel";

const USAGE = `usage: npm run cost -- --events-per-month N [--batch-size B] [--avg-bytes S]
                     [--retention-days D] [--log-retention-days D] [--api-keys K]
                     [--authorizer-cache-ttl S] [--prices FILE] [--json]

  --events-per-month N     events ingested per month (required)
  --batch-size B           events per request: 1 = POST /events, 2..${LIMITS.batchMaxEvents} = POST /events/batch (default 1)
  --avg-bytes S            request JSON bytes per event (default 300)
  --retention-days D       days events stay in the table, for storage (default 30)
  --log-retention-days D   days logs are kept (default 14, the dev stack's logRetentionDays)
  --api-keys K             API keys sending events; each is authorized once per cache TTL (default 1)
  --authorizer-cache-ttl S authorizerCacheTtlSeconds (default 300)
  --prices FILE            prices file (default bench/prices.json)
  --json                   machine-readable output`;

function positiveInteger(name: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

class UsageError extends Error {}

function parse(argv: string[]): { workload: Workload; pricesFile: string; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      "events-per-month": { type: "string" },
      "batch-size": { type: "string" },
      "avg-bytes": { type: "string" },
      "retention-days": { type: "string" },
      "log-retention-days": { type: "string" },
      "api-keys": { type: "string" },
      "authorizer-cache-ttl": { type: "string" },
      prices: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (values["events-per-month"] === undefined) throw new UsageError("--events-per-month is required");
  return {
    workload: {
      eventsPerMonth: positiveInteger("events-per-month", values["events-per-month"], 0),
      batchSize: positiveInteger("batch-size", values["batch-size"], 1, LIMITS.batchMaxEvents),
      avgEventBytes: positiveInteger("avg-bytes", values["avg-bytes"], 300, LIMITS.maxItemBytes),
      retentionDays: positiveInteger("retention-days", values["retention-days"], 30),
      logRetentionDays: positiveInteger("log-retention-days", values["log-retention-days"], 14),
      apiKeys: positiveInteger("api-keys", values["api-keys"], 1),
      authorizerCacheTtlSeconds: positiveInteger("authorizer-cache-ttl", values["authorizer-cache-ttl"], 300, 3600, 0),
    },
    pricesFile: values.prices ?? DEFAULT_PRICES_FILE,
    json: values.json === true,
  };
}

const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
const quantity = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));

function render(workload: Workload, estimate: CostEstimate, region: string, benchDate: string): string {
  const width = Math.max(...estimate.lines.map((l) => l.component.length));
  const line = (l: CostEstimate["lines"][number]) => `  ${l.component.padEnd(width)}  ${quantity(l.quantity).padStart(15)} ${l.unit.padEnd(11)} ${usd(l.usd).padStart(10)}`;
  const millions = workload.eventsPerMonth / 1e6;
  return [
    `${workload.eventsPerMonth.toLocaleString("en-US")} events/month, ${workload.batchSize} per request, ${workload.avgEventBytes} bytes each ` +
      `(stored item ${estimate.stored_item_bytes} bytes, ${estimate.write_units_per_event} write units per event)`,
    `prices: ${region} list prices; durations and log sizes: npm run bench of ${benchDate}`,
    "",
    "ingest path, per month:",
    ...estimate.lines.filter((l) => l.kind === "ingest").map(line),
    "retention, per month at steady state:",
    ...estimate.lines.filter((l) => l.kind === "retention").map(line),
    "",
    `  ingest path             ${usd(estimate.ingest_usd).padStart(10)}/month   ${usd(estimate.ingest_usd_per_million_events)} per million events`,
    `  with retention          ${usd(estimate.total_usd).padStart(10)}/month   ${usd(estimate.total_usd_per_million_events)} per million events`,
    `  DynamoDB write floor    ${usd(estimate.floor_usd).padStart(10)}/month   ${usd(estimate.floor_usd / millions)} per million events`,
    `  ratio to the floor      ${estimate.floor_ratio.toFixed(3)}×  (ingest path ÷ floor; goal ≤ 1.10× at batch 25)`,
  ].join("\n");
}

function main(): void {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      if ((error as Error).message) console.error(`cost: ${(error as Error).message}\n`);
      console.error(USAGE);
      process.exit(2);
    }
    throw error;
  }
  const { prices, file } = loadPrices(args.pricesFile);
  const { inputs, date } = readMeasuredInputs();
  const estimate = estimateCost(args.workload, inputs, prices);
  const pipelineInputs = readPipelineCostInputs();
  const pipeline = pipelineInputs && estimatePipelineCost(args.workload.eventsPerMonth, pipelineInputs, prices);
  if (args.json) console.log(JSON.stringify({ workload: args.workload, region: file.region, bench_date: date, ...estimate, ...(pipeline ? { pipeline } : {}) }, null, 2));
  else console.log(render(args.workload, estimate, file.region, date.slice(0, 10)) + (pipeline ? `\n\n${renderPipelineCost(pipeline, estimate.ingest_usd_per_million_events)}` : ""));
}

try {
  main();
} catch (error) {
  console.error(`cost: ${(error as Error).message}`);
  process.exit(1);
}
