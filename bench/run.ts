/**
 * `npm run bench`: every benchmark of docs/BENCHMARKS.md in one run, each figure a ratio against a
 * baseline measured in the same run. Prints a table and writes the results to .build/bench/, or to
 * the tracked bench/results.json (which `npm run cost` reads) with --write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { measureInitTimes } from "./cold/measureInit";
import { buildClosurePackage } from "./peers/closure";
import { compareAuthorizers } from "./peers/authorizer";
import { measureLocalThroughput } from "./local/throughput";
import { EMPTY_MODULE, initRatio, prepareBundles, summarizeColdStart } from "./coldStart";
import { BUILD_DIR } from "./cold/packagings";
import { FLOOR_GOALS, measureFloor } from "./floor";
import { deployedAccessLogBytes } from "../cost/accessLog";
import { measuredInputs } from "../cost/measured";
import { estimateCost, type Workload } from "../cost/model";
import { loadPrices } from "../cost/prices";
import { measureCpuCost } from "./cpuCost";
import { measureHandlerOverhead } from "./handlerOverhead";
import { measureItemSize } from "./itemSize";
import { measurePipeline, pipelineReport } from "./pipeline";
import { describeMachine } from "./lib/machine";
import { printTable, RESULTS_FILE, writeResults, type Row } from "./lib/report";
import { estimateQueuedCost, sqsPrice } from "../cost/queued";
import { measureQueued } from "./queued";
import { CATALOG_GOALS, measureCatalog } from "./catalog";
import { ratio, round } from "./lib/stats";
import { CLIENT_GOALS, measureClient } from "./client";
import { DELIVERY_GOALS, measureDelivery } from "./delivery";
import { measureLargeEvents } from "./large";
import { largeEventRows } from "./large/rows";

const MINIMAL_MODULE = "minimal";
const USAGE = `usage: npm run bench [-- [--quick] [--write]]

  --quick   fewer rounds (code-only floor, cold start): about half the time, noisier ratios
  --write   write the results to bench/results.json (tracked; what \`npm run cost\` reads);
            without it they go to ${path.relative(process.cwd(), path.join(BUILD_DIR, "..", "results.json"))}, and git status stays clean
  --help    this text

BENCH_COLD_ROUNDS sets the fresh processes per module for cold start (default 21, --quick 7).`;

function parseCli(argv: string[]): { quick: boolean; write: boolean } {
  try {
    const { values } = parseArgs({ args: argv, options: { quick: { type: "boolean" }, write: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return { quick: values.quick === true, write: values.write === true };
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
/** The workload the cost figures are for; `npm run cost` takes any other. */
export const COST_WORKLOAD: Omit<Workload, "batchSize"> = {
  eventsPerMonth: 10_000_000,
  avgEventBytes: 300,
  retentionDays: 30,
  logRetentionDays: 14,
  apiKeys: 1,
  authorizerCacheTtlSeconds: 300,
};

async function section<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  process.stderr.write(`bench: ${name} …`);
  const result = await fn();
  process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const COLD_ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? (cli.quick ? 7 : 21));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const started = Date.now();
  const machine = describeMachine();
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });

  const item = await section("stored item size", measureItemSize);
  const overhead = await section("handler vs bare put", measureHandlerOverhead);
  const cpu = await section("validation + enrichment CPU", measureCpuCost);
  const authorizer = await section("authorizer: seed (bcrypt + scan) vs ours", compareAuthorizers);
  const closure = await section("inline closure package (Pulumi serializer)", buildClosurePackage);
  const accessLogBytes = await section("access log line", deployedAccessLogBytes);
  const floor = await section("code only: deploy bundle vs minimal bundle, instant endpoint", () => measureFloor({ quick: cli.quick }));
  process.stderr.write(`bench:   floor ${JSON.stringify({ single: floor.single, batch25: floor.batch25, profile: floor.profile })}\n`);
  const bundles = await section("bundles, both packagings", prepareBundles);
  const coldSamples = await section(`cold start, ${COLD_ROUNDS} processes per module`, () =>
    measureInitTimes({ ...bundles.modules, closure: closure.module_file, [MINIMAL_MODULE]: floor.minimal_bundle_file }, COLD_ROUNDS),
  );
  const local = await section("local stack throughput (autocannon)", measureLocalThroughput);
  const pipelineResult = await section("SNS pipeline vs direct write", measurePipeline);
  const queued = await section("queued mode: API latency vs direct, processor vs bare write", () => measureQueued({ quick: cli.quick }));
  const client = await section("client library: overhead vs bare fetch, batched vs one by one", measureClient);
  const catalogCost = await section("event catalogue: 10-field check vs off, 50-type init vs none", () => measureCatalog({ quick: cli.quick }));
  const delivery = await section("deliveries: deliverer CPU vs minimal and bare POST, latency on the local stack", () => measureDelivery({ quick: cli.quick }));
  const largeEvents = await section("large events: ingest CPU by size, compressed vs format 1; stored items per size class", () => measureLargeEvents({ quick: cli.quick }));

  const coldStart = summarizeColdStart(bundles, coldSamples);
  const { module_file: _closureModule, ...closureFigures } = closure;
  const shipped = coldStart.functions.ingest![coldStart.faster_packaging];
  const costInputs = measuredInputs({ item, handler_overhead: overhead, floor, peers: { authorizer }, access_log_bytes: accessLogBytes });
  const { minimal_bundle_file: _minimalFile, ...floorFigures } = floor;
  const initVsMinimal = initRatio(coldSamples, `ingest:${coldStart.faster_packaging}`, MINIMAL_MODULE);
  const { prices, file: pricesFile } = loadPrices();
  const cost1 = estimateCost({ ...COST_WORKLOAD, batchSize: 1 }, costInputs, prices);
  const cost25 = estimateCost({ ...COST_WORKLOAD, batchSize: 25 }, costInputs, prices);
  const pipeline = pipelineReport(pipelineResult, prices, cost1.ingest_usd_per_million_events, COST_WORKLOAD.eventsPerMonth);
  const queuedCost1 = estimateQueuedCost({ ...COST_WORKLOAD, batchSize: 1 }, costInputs, prices, sqsPrice(pricesFile));

  const results = {
    date: new Date().toISOString(),
    machine,
    duration_s: Math.round((Date.now() - started) / 1000),
    quick: cli.quick,
    floor: { ...floorFigures, init_ratio_vs_minimal: initVsMinimal, goals: FLOOR_GOALS },
    catalog: { ...catalogCost, goals: CATALOG_GOALS },
    large_events: largeEvents,
    item,
    handler_overhead: {
      ...overhead,
      validate_enrich_us: cpu.validate_enrich_us,
      validate_enrich_fraction_of_put: round(cpu.validate_enrich_us / (overhead.bare_put_p50_ms * 1000)),
      validate_enrich_between_puts_us: cpu.validate_enrich_between_puts_us,
      validate_enrich_between_puts_fraction_of_put: round(cpu.validate_enrich_between_puts_us / (overhead.bare_put_p50_ms * 1000)),
      phases_us: cpu.phases_us,
    },
    cold_start: coldStart,
    peers: {
      closure_bundle_ratio: ratio(closure.package_bytes, shipped.bytes),
      closure_zipped_ratio: ratio(closure.package_zipped_bytes, shipped.zipped_bytes),
      closure_init_ratio: initRatio(coldSamples, "closure", `ingest:${coldStart.faster_packaging}`),
      closure_init_vs_empty_ratio: initRatio(coldSamples, "closure", EMPTY_MODULE),
      closure: closureFigures,
      bcrypt_authorizer_ratio: authorizer.bcrypt_authorizer_ratio,
      authorizer,
    },
    local,
    queued,
    client,
    delivery: { ...delivery, goals: DELIVERY_GOALS },
    cost: {
      queued_ingest_usd_per_million_events_batch1: round(queuedCost1.ingest_usd_per_million_events, 4),
      floor_ratio_batch1: round(cost1.floor_ratio),
      floor_ratio_batch25: round(cost25.floor_ratio),
      ingest_usd_per_million_events_batch1: round(cost1.ingest_usd_per_million_events, 4),
      ingest_usd_per_million_events_batch25: round(cost25.ingest_usd_per_million_events, 4),
      floor_usd_per_million_events: round(cost25.floor_usd / (COST_WORKLOAD.eventsPerMonth / 1e6), 4),
      workload: COST_WORKLOAD,
      prices_region: pricesFile.region,
    },
    cost_inputs: costInputs,
    pipeline: pipeline.figures,
    pipeline_cost_inputs: pipeline.inputs,
  };
  const resultsFile = cli.write ? RESULTS_FILE : path.join(BUILD_DIR, "..", "results.json");
  writeResults(results, resultsFile);

  const rows: Row[] = [
    { section: "floor", figure: "batch 25: CPU per event, ours ÷ BatchWriteItem floor", value: floor.batch25.cpu_ratio, goal: `≤ ${FLOOR_GOALS.batch_cpu_ratio}`, met: floor.batch25.cpu_ratio <= FLOOR_GOALS.batch_cpu_ratio },
    { section: "floor", figure: "batch 25: p50, ours ÷ floor", value: floor.batch25.p50_ratio, goal: `≤ ${FLOOR_GOALS.batch_p50_ratio}`, met: floor.batch25.p50_ratio <= FLOOR_GOALS.batch_p50_ratio },
    { section: "floor", figure: "single: CPU per request, ours ÷ bare-put floor", value: floor.single.cpu_ratio, goal: `≤ ${FLOOR_GOALS.single_cpu_ratio}`, met: floor.single.cpu_ratio <= FLOOR_GOALS.single_cpu_ratio },
    { section: "floor", figure: "single: p50, ours ÷ floor", value: floor.single.p50_ratio },
    { section: "floor", figure: "init, ingest bundle ÷ minimal bundle", value: initVsMinimal, goal: `≤ ${FLOOR_GOALS.init_ratio}`, met: initVsMinimal <= FLOOR_GOALS.init_ratio },
    { section: "floor", figure: "single: CPU µs per request (ours / floor)", value: `${floor.single.ours_cpu_us} / ${floor.single.floor_cpu_us}` },
    { section: "floor", figure: "batch 25: CPU µs per event (ours / floor)", value: `${floor.batch25.ours_cpu_us} / ${floor.batch25.floor_cpu_us}` },
    { section: "catalog", figure: "single: CPU per request, 10-field schema enforced ÷ catalogue off", value: catalogCost.single_cpu_ratio, goal: `≤ ${CATALOG_GOALS.single_cpu_ratio}`, met: catalogCost.single_cpu_ratio <= CATALOG_GOALS.single_cpu_ratio },
    { section: "catalog", figure: "init, 50 declared types (schemas as functions) ÷ none", value: catalogCost.init_ratio_50_types_lazy, goal: `≤ ${CATALOG_GOALS.init_ratio_50_types}`, met: catalogCost.init_ratio_50_types_lazy <= CATALOG_GOALS.init_ratio_50_types },
    { section: "catalog", figure: "  … schemas built at load ÷ none", value: catalogCost.init_ratio_50_types },
    ...largeEventRows(largeEvents),
    { section: "item", figure: "typical 300-byte event, stored bytes", value: item.typical_stored_bytes, goal: "≤ 1024 (1 write unit)", met: item.typical_stored_bytes <= 1024 },
    { section: "handler", figure: "dynalite: p50 ratio (handler / bare put)", value: results.handler_overhead.p50_ratio },
    { section: "handler", figure: "p99 ratio", value: results.handler_overhead.p99_ratio },
    { section: "handler", figure: "dynalite: throughput ratio", value: results.handler_overhead.throughput_ratio },
    { section: "handler", figure: "CPU per op ratio (handler / bare put)", value: overhead.cpu_per_op_ratio },
    { section: "handler", figure: "p50 ratio vs the conditional put", value: overhead.vs_conditional_put.p50_ratio },
    { section: "handler", figure: "throughput ratio vs the conditional put", value: overhead.vs_conditional_put.throughput_ratio },
    { section: "handler", figure: "validation + enrichment µs (warm)", value: cpu.validate_enrich_us },
    { section: "handler", figure: "  … as a fraction of the bare put", value: results.handler_overhead.validate_enrich_fraction_of_put },
    { section: "handler", figure: "  … µs right after a put (cold caches)", value: cpu.validate_enrich_between_puts_us },
    { section: "cold", figure: "ingest bundle bytes, SDK external", value: coldStart.ingest_bundle_bytes, goal: "≤ 61440", met: coldStart.ingest_bundle_bytes <= 61_440 },
    { section: "cold", figure: "ingest bundle bytes, SDK bundled", value: coldStart.ingest_bundle_bytes_sdk_bundled },
    { section: "cold", figure: "ingest init ratio, SDK bundled", value: coldStart.functions.ingest!.sdk_bundled.init_ratio },
    { section: "cold", figure: "ingest init ratio, SDK external", value: coldStart.functions.ingest!.sdk_external.init_ratio },
    { section: "cold", figure: `init ratio, shipped (${coldStart.faster_packaging})`, value: coldStart.init_ratio, goal: "≤ 1.5", met: coldStart.init_ratio <= 1.5 },
    { section: "cold", figure: "  candidate: credentials from env only", value: coldStart.ingest_candidates.sdk_bundled_env_credentials.init_ratio },
    { section: "cold", figure: "  candidate: no SDK (floor of our code)", value: coldStart.ingest_candidates.no_sdk.init_ratio },
    { section: "peers", figure: "closure package / our bundle (bytes)", value: results.peers.closure_bundle_ratio },
    { section: "peers", figure: "closure init / our init", value: results.peers.closure_init_ratio },
    { section: "peers", figure: "seed authorizer / ours, per check", value: authorizer.bcrypt_authorizer_ratio },
    { section: "local", figure: "single events/s (stack)", value: local.throughput_single_rps },
    { section: "local", figure: "batch-25 events/s (stack)", value: local.throughput_batch25_events_per_s },
    { section: "local", figure: "raw dynalite puts/s", value: local.raw_put_rps },
    { section: "queued", figure: "API p50, queued ÷ direct (processor paused)", value: queued.api.p50_ratio, goal: "≤ 1", met: queued.api.goal_queued_p50_at_most_direct },
    { section: "queued", figure: "API p99, queued ÷ direct", value: queued.api.p99_ratio },
    { section: "queued", figure: "processor ÷ bare write, events per CPU-second", value: queued.processor.cpu_ratio, goal: "≥ 0.8", met: queued.processor.goal_at_least_0_8 },
    { section: "queued", figure: "processor ÷ bare write, events/s (wall clock)", value: queued.processor.ratio },
    { section: "delivery", figure: "deliverer ÷ minimal deliverer, deliveries per CPU-second", value: delivery.cpu.ratio_vs_minimal, goal: `≥ ${DELIVERY_GOALS.cpu_ratio_vs_minimal}`, met: delivery.cpu.goal_met },
    { section: "delivery", figure: "deliverer ÷ bare signed POST (no storage), per CPU-second", value: delivery.cpu.ratio_vs_bare_post },
    { section: "delivery", figure: "  … minimal deliverer ÷ bare signed POST", value: delivery.cpu.minimal_ratio_vs_bare_post },
    { section: "delivery", figure: "CPU µs per delivery (ours / minimal / bare POST)", value: `${delivery.cpu.ours_cpu_us_per_delivery} / ${delivery.cpu.minimal_cpu_us_per_delivery} / ${delivery.cpu.bare_post_cpu_us_per_delivery}` },
    { section: "delivery", figure: `local: added p50, storage → receiver − bare POST (${delivery.latency.per_second}/s), ms`, value: delivery.latency.added_p50_ms, goal: `≤ ${DELIVERY_GOALS.added_p50_ms}`, met: delivery.latency.goal_met },
    { section: "delivery", figure: "local: storage → receiver p50 / p99, ms", value: `${delivery.latency.delivery_p50_ms} / ${delivery.latency.delivery_p99_ms}` },
    { section: "delivery", figure: "local: bare signed POST p50 / p99, ms", value: `${delivery.latency.bare_post_p50_ms} / ${delivery.latency.bare_post_p99_ms}` },
    { section: "cost", figure: "$ per million events, direct / queued (batch 1)", value: `${results.cost.ingest_usd_per_million_events_batch1} / ${results.cost.queued_ingest_usd_per_million_events_batch1}` },
    { section: "cost", figure: "ratio to write floor, batch 1", value: results.cost.floor_ratio_batch1 },
    { section: "cost", figure: "ratio to write floor, batch 25", value: results.cost.floor_ratio_batch25, goal: "≤ 1.10", met: results.cost.floor_ratio_batch25 <= 1.1 },
    ...pipeline.rows,
    { section: "client", figure: "time per event, client ÷ bare fetch of the same batches", value: client.overhead.ratio },
    { section: "client", figure: "  … client overhead, µs per event", value: client.overhead.overhead_us_per_event },
    { section: "client", figure: "events/s, batched ÷ one by one (per-request cost)", value: client.throughput.ratio, goal: `≥ ${CLIENT_GOALS.batched_vs_single_ratio}`, met: client.throughput.goal_met },
    { section: "client", figure: "  … through the local stack (dynalite-bound)", value: client.throughput.stack_ratio },
  ];
  console.log();
  printTable(rows);
  console.log(`\n${machine.cpu}, ${machine.cores} cores, load ${machine.load_average_at_start}, Node ${machine.node}; ${results.duration_s} s; wrote ${path.relative(process.cwd(), resultsFile)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
