/**
 * `npm run cost -- --events-per-month N [--batch-size B] [--avg-bytes S]`: the monthly bill of
 * ingesting N events, component by component, with the CPU per request, log sizes and item size
 * the last `npm run bench -- --write` measured (bench/results.json) and the prices in
 * cost/prices.json, and the ingest function's duration cost at each memory size; then the cost
 * per million deliveries to subscribers of the stack's delivery engine and of the alternatives
 * docs/adr/0033 compared it with (cost/delivery.ts).
 */
import { parseArgs } from "node:util";
import { LIMITS } from "../handlers/lib/primitives/limits";
import { readMeasuredInputs, RESULTS_FILE } from "../cost/measured";
import { estimateCost, MB_PER_VCPU, memorySizes, type CostEstimate, type MeasuredInputs, type Workload } from "../cost/model";
import { DEFAULT_PRICES_FILE, loadPrices } from "../cost/prices";
import { estimatePipelineCost, readPipelineCostInputs, renderPipelineCost } from "../cost/pipelineModel";
import { estimateQueuedCost, sqsPrice } from "../cost/queued";
import { compareDeliveryEngines, renderDeliveryCost, type DeliveryWorkload } from "../cost/delivery";
import { DELIVERY_HANDLERS } from "../handlers/routes";
import { githubRows, renderStorageRows, SIZE_CLASSES, sizeRows, storagePrices } from "../cost/storageReport";
import { readLargeEvents, renderMeasuredClasses, storageGoals } from "../cost/largeEvents";

const USAGE = `usage: npm run cost -- --avg-bytes N | --sizes github-examples|classes [--prices FILE] [--results FILE] [--json]
       the storage path of one event before and after ADR 0035 (writes, index writes, an ack,
       a listing page's reads, S3 for claim-checked events, a month of storage); --sizes also
       prints the items the last npm run bench -- --write measured per size class (bench/results.json)
       npm run cost -- --events-per-month N [--batch-size B] [--avg-bytes S]
                     [--retention-days D] [--log-retention-days D] [--api-keys K]
                     [--authorizer-cache-ttl S] [--memory-mb M] [--storage-ms-single MS]
                     [--storage-ms-batch25 MS] [--processor-batch-size N] [--keyed-share F]
                     [--deliveries-per-event D] [--delivery-attempts A] [--receiver-ms MS]
                     [--subscriptions S] [--prices FILE] [--results FILE] [--json]

  --events-per-month N     events ingested per month (required)
  --batch-size B           events per request: 1 = POST /events, 2..${LIMITS.batchMaxEvents} = POST /events/batch (default 1)
  --avg-bytes S            request JSON bytes per event (default 300)
  --retention-days D       days events stay in the table, for storage (default 30)
  --log-retention-days D   days logs are kept (default 14, the dev stack's logRetentionDays)
  --api-keys K             API keys sending events; each is authorized once per cache TTL (default 1)
  --authorizer-cache-ttl S authorizerCacheTtlSeconds (default 300)
  --memory-mb M            ingest function memory (default: HANDLERS.ingest.memoryMb as benchmarked);
                           CPU share = M ÷ ${MB_PER_VCPU} MB, one vCPU at ${MB_PER_VCPU} MB
  --storage-ms-single MS   assumed DynamoDB wait of one PutItem (default 5)
  --storage-ms-batch25 MS  assumed DynamoDB wait of one 25-item BatchWriteItem (default 10)
  --processor-batch-size N queued mode: messages per processor invocation (default 10, processorBatchSize)
  --keyed-share F          queued mode: share of events sent with an idempotency key, 0..1 (default 0)
  --deliveries-per-event D delivery: subscriptions each event matches, on average (default 1)
  --delivery-attempts A    delivery: attempts per delivery, on average, ≥ 1 (default 1.1)
  --receiver-ms MS         delivery: the receiver's answer time (default 200)
  --subscriptions S        delivery: subscriptions configured, each with its own queue (default 1)
  --prices FILE            prices file (default cost/prices.json)
  --results FILE           bench results (default bench/results.json, written by npm run bench -- --write)
  --json                   machine-readable output
  --help                   this text`;

function positiveInteger(name: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

class UsageError extends Error {}

class HelpRequested extends Error {}

interface CostArgs {
  workload: Workload;
  pricesFile: string;
  resultsFile: string;
  json: boolean;
  memoryMb?: number;
  storageMs: { single?: number; batch25?: number };
  queued: { processorBatchSize: number; keyedShare: number };
  delivery: Omit<DeliveryWorkload, "eventsPerMonth" | "eventBytes" | "delivererMemoryMb">;
}

function nonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === "") throw new UsageError(`--${name} must be a number of milliseconds ≥ 0, got "${value}"`);
  return n;
}

function parse(argv: string[]): CostArgs {
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
      "memory-mb": { type: "string" },
      "storage-ms-single": { type: "string" },
      "storage-ms-batch25": { type: "string" },
      "processor-batch-size": { type: "string" },
      "keyed-share": { type: "string" },
      "deliveries-per-event": { type: "string" },
      "delivery-attempts": { type: "string" },
      "receiver-ms": { type: "string" },
      subscriptions: { type: "string" },
      prices: { type: "string" },
      results: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new HelpRequested();
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
    resultsFile: values.results ?? RESULTS_FILE,
    json: values.json === true,
    ...(values["memory-mb"] === undefined ? {} : { memoryMb: positiveInteger("memory-mb", values["memory-mb"], 0, 10_240, 128) }),
    storageMs: { single: nonNegative("storage-ms-single", values["storage-ms-single"]), batch25: nonNegative("storage-ms-batch25", values["storage-ms-batch25"]) },
    queued: { processorBatchSize: positiveInteger("processor-batch-size", values["processor-batch-size"], 10, 10_000), keyedShare: share(values["keyed-share"]) },
    delivery: {
      deliveriesPerEvent: atLeast("deliveries-per-event", values["deliveries-per-event"], 1, Number.MIN_VALUE),
      attemptsPerDelivery: atLeast("delivery-attempts", values["delivery-attempts"], 1.1, 1),
      receiverMs: nonNegative("receiver-ms", values["receiver-ms"]) ?? 200,
      subscriptions: positiveInteger("subscriptions", values.subscriptions, 1, 1000),
    },
  };
}

function atLeast(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n >= min) || !Number.isFinite(n) || value.trim() === "") throw new UsageError(`--${name} must be a number${min === 1 ? " ≥ 1" : " above 0"}, got "${value}"`);
  return n;
}

function share(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!(n >= 0 && n <= 1) || value.trim() === "") throw new UsageError(`--keyed-share must be a number from 0 to 1, got "${value}"`);
  return n;
}

const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
const quantity = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));

function render(workload: Workload, estimate: CostEstimate, queued: CostEstimate, sizes: ReturnType<typeof memorySizes>, inputs: MeasuredInputs, region: string, benchDate: string): string {
  const directComponents = new Set(estimate.lines.map((l) => l.component));
  const queuedOnly = queued.lines.filter((l) => !directComponents.has(l.component));
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
    "",
    "queued mode (ingestMode queued) adds, per month:",
    ...queuedOnly.map((l) => `  ${l.component}: ${quantity(l.quantity)} ${l.unit}, ${usd(l.usd)}`),
    "per million events, by mode (ingest path):",
    `  direct                  ${usd(estimate.ingest_usd_per_million_events).padStart(10)}`,
    `  queued                  ${usd(queued.ingest_usd_per_million_events).padStart(10)}   (${(queued.ingest_usd / estimate.ingest_usd).toFixed(2)}× direct)`,
    "",
    `ingest memory size (CPU ${(workload.batchSize === 1 ? inputs.ingestCpuMs.single : inputs.ingestCpuMs.batch25).toFixed(3)} ms per request on a vCPU at batch 1/25, stretched by memory ÷ ${MB_PER_VCPU} MB; DynamoDB wait ${inputs.storageWaitMs.single}/${inputs.storageWaitMs.batch25} ms at batch 1/25):`,
    ...sizes.map(
      (m) =>
        `  ${String(m.memory_mb).padStart(5)} MB  ${m.duration_ms.toFixed(1).padStart(7)} ms, billed ${String(m.billed_ms).padStart(4)} ms  ${usd(m.duration_usd_per_million_events).padStart(8)} duration per million events` +
        (m.memory_mb === inputs.ingestMemoryMb ? "  (configured)" : ""),
    ),
  ].join("\n");
}

/** The storage-path report: `--sizes` or `--avg-bytes` without `--events-per-month`. */
function storageMain(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { "avg-bytes": { type: "string" }, sizes: { type: "string" }, prices: { type: "string" }, results: { type: "string" }, json: { type: "boolean" } } });
  const prices = storagePrices(loadPrices(values.prices ?? DEFAULT_PRICES_FILE).prices);
  if (values.sizes !== undefined && values.sizes !== "github-examples" && values.sizes !== "classes") throw new UsageError(`--sizes takes github-examples or classes, got "${values.sizes}"`);
  const maxBytes = LIMITS.maxConfigurableBodyBytes;
  const rows = values.sizes === "github-examples" ? undefined : sizeRows(values.sizes === "classes" ? SIZE_CLASSES : [positiveInteger("avg-bytes", values["avg-bytes"], 300, maxBytes)], prices);
  const github = values.sizes === "github-examples" ? githubRows(prices) : undefined;
  // The same run's measured items (bench/large.ts): the bench table and this report agree.
  const measured = values.sizes === undefined ? undefined : readLargeEvents(values.results ?? RESULTS_FILE);
  const measuredRows = measured && (values.sizes === "classes" ? measured.figures.storage.classes : [measured.figures.storage.github_examples.median_by_size]);
  if (values.json) return console.log(JSON.stringify({ ...(github ?? { rows }), ...(measured ? { measured: { date: measured.date, rows: measuredRows, goals: storageGoals(measured.figures) } } : {}) }, null, 2));
  if (measured && measuredRows) {
    console.log(`Measured by npm run bench of ${measured.date}${measured.load === undefined ? "" : ` (load ${measured.load})`}: the items the ingest bundles sent, before = format 1 with the index projecting ALL, after = shipped:\n`);
    console.log(renderMeasuredClasses(measuredRows));
    if (values.sizes === "github-examples") {
      const g = measured.figures.storage.github_examples;
      console.log(`\nover all ${g.count} examples: median write-unit ratio ${g.median_write_ratio}; write units ${g.write_units_total.before} → ${g.write_units_total.after}; listing page over 2× before for ${g.listing_over_goal} (payloads up to ${g.largest_payload_listing_over_goal} B)`);
    }
    console.log("\ngoals (issue 22):");
    for (const goal of storageGoals(measured.figures)) console.log(`  ${goal.figure}: ${goal.value} (${goal.goal}) ${goal.met ? "met" : "MISSED"}`);
    const cpu = (measured.figures as Partial<typeof measured.figures>).cpu?.by_size;
    if (cpu) console.log(`  ingest CPU, compressed ÷ format 1 (same run): ${cpu.map((c) => `${c.label} ${c.cpu_ratio}`).join("; ")}`);
    console.log("\nModel (cost/storageModel.ts), the same encoder on a sample record, with S3 and storage:\n");
  } else if (values.sizes !== undefined) console.log(`(no measured figures in ${values.results ?? RESULTS_FILE}: run npm run bench -- --write)\n`);
  if (github) {
    console.log(`GitHub's ${github.count} example payloads (@octokit/webhooks-examples), one event each, written, acked once and listed once:\n`);
    console.log(renderStorageRows(github.rows));
    console.log(`\nmedian write-unit ratio after/before: ${github.medianWriteRatio.toFixed(2)}; mean $ per million events: $${github.meanBefore.toFixed(2)} → $${github.meanAfter.toFixed(2)}`);
  } else console.log(renderStorageRows(rows!));
}

function main(): void {
  const argv = process.argv.slice(2);
  if (!argv.includes("--events-per-month") && !argv.includes("--help") && !argv.includes("-h") && (argv.includes("--sizes") || argv.some((a) => a.startsWith("--avg-bytes")))) {
    try {
      return storageMain(argv);
    } catch (error) {
      if (!(error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) throw error;
      console.error(`cost: ${(error as Error).message}\n`);
      console.error(USAGE);
      process.exit(2);
    }
  }
  let args: CostArgs;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      process.exit(0);
    }
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      if ((error as Error).message) console.error(`cost: ${(error as Error).message}\n`);
      console.error(USAGE);
      process.exit(2);
    }
    throw error;
  }
  const { prices, file } = loadPrices(args.pricesFile);
  const measured = readMeasuredInputs(args.resultsFile);
  const inputs: MeasuredInputs = {
    ...measured.inputs,
    ...(args.memoryMb === undefined ? {} : { ingestMemoryMb: args.memoryMb }),
    storageWaitMs: { single: args.storageMs.single ?? measured.inputs.storageWaitMs.single, batch25: args.storageMs.batch25 ?? measured.inputs.storageWaitMs.batch25 },
  };
  const estimate = estimateCost(args.workload, inputs, prices);
  const sizes = memorySizes(args.workload, inputs, prices);
  const queued = estimateQueuedCost(args.workload, inputs, prices, sqsPrice(file), args.queued);
  const { date } = measured;
  const pipelineInputs = readPipelineCostInputs(args.resultsFile);
  const pipeline = pipelineInputs && estimatePipelineCost(args.workload.eventsPerMonth, pipelineInputs, prices);
  const deliveryWorkload: DeliveryWorkload = {
    ...args.delivery,
    eventsPerMonth: args.workload.eventsPerMonth,
    eventBytes: estimate.stored_item_bytes,
    delivererMemoryMb: DELIVERY_HANDLERS.deliverer.memoryMb,
  };
  const delivery = compareDeliveryEngines(deliveryWorkload, prices);
  if (args.json) console.log(JSON.stringify({ workload: args.workload, region: file.region, bench_date: date, ...estimate, memory_sizes: sizes, queued, ...(pipeline ? { pipeline } : {}), delivery }, null, 2));
  else {
    console.log(render(args.workload, estimate, queued, sizes, inputs, file.region, date.slice(0, 10)));
    if (pipeline) console.log(`\n${renderPipelineCost(pipeline, estimate.ingest_usd_per_million_events)}`);
    console.log(`\n${renderDeliveryCost(delivery, deliveryWorkload)}`);
  }
}

try {
  main();
} catch (error) {
  console.error(`cost: ${(error as Error).message}`);
  process.exit(1);
}
