/**
 * What large events cost (issue 22, ADR 0035), by the floor method (bench/floor.ts), in one run:
 * - ingest CPU per request and p50, the shipped bundle (compressed stored form from
 *   COMPRESS_MIN_PAYLOAD_BYTES) ÷ the same entry built with format-1 storage (compression off:
 *   "today's", ADR 0044), for the typical 300-byte event, a sweep of payload sizes and GitHub's
 *   pull_request.opened, through POST /events and the webhook route; and against the minimal floor;
 * - the items those bundles actually send to DynamoDB (captured at the instant endpoint), priced
 *   by cost/storageModel.ts per size class and over GitHub's examples, before (format 1, the index
 *   projecting ALL) and after: write units including one ack, a listing page of 25's read units.
 * `npm run cost -- --sizes classes|github-examples` prints these figures from bench/results.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { build, buildSync, type Plugin } from "esbuild";
import { BUNDLE_FILE, BUNDLE_OPTIONS, bundleHandler, PROJECT_ROOT } from "../components/bundle";
import { HANDLERS } from "../handlers/routes";
import { NumberValue } from "../handlers/lib/primitives/json";
import { ENV } from "../handlers/lib/primitives/tables";
import { generateSecret } from "../handlers/lib/webhooks/signatures";
import { webhookEnvironment } from "../handlers/lib/webhooks/sources";
import { githubExamples } from "../cost/githubPayloads";
import { loadPrices } from "../cost/prices";
import { itemStorageCost, type StorageCost } from "../cost/storageModel";
import { storagePrices } from "../cost/storageReport";
import { LARGE_GOALS, type LargeCpuFigures, type LargeEventResults, type LargeStorageClass } from "../cost/largeEvents";
import { FUNCTION_ENVIRONMENT } from "./cold/measureInit";
import { BUILD_DIR } from "./cold/packagings";
import { startChildServer } from "./lib/child";
import { describeMachine } from "./lib/machine";
import { printTable } from "./lib/report";
import { largeEventRows } from "./large/rows";
import type { BlockResult } from "./lib/operations";
import { median, quantile, ratio, round } from "./lib/stats";
import { cpuCases, githubExampleBodies, storageClasses, type LargeCase } from "./large/payloads";
import type { Bundle, LargeRunnerInput, LargeRunnerOutput, WireItem } from "./large/runner";

export { LARGE_GOALS };

const RECORD_MODULE = path.join(PROJECT_ROOT, "handlers", "lib", "events", "record.ts");
const STORED_ITEM_SIGNATURE = "export function storedItem(record: EventRecord): StoredItem {";

/**
 * "Today's" storage, built from the same sources: `storedItem` returns the record as it is (format
 * 1, a map, no JSON text measured, nothing compressed), as before ADR 0035. A build-time rewrite of
 * that one function in the bench's copy; the shipped bundle has no switch (ADR 0044). Throws when
 * the function's signature changes, so the baseline cannot silently become the shipped code.
 */
export const formatOneStorage: Plugin = {
  name: "bench-format-1-storage",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]handlers[\\/]lib[\\/]events[\\/]record\.ts$/ }, (args) => {
      if (path.resolve(args.path) !== RECORD_MODULE) return undefined;
      const source = fs.readFileSync(args.path, "utf8");
      if (source.split(STORED_ITEM_SIGNATURE).length !== 2) throw new Error(`bench: ${RECORD_MODULE} no longer has exactly one "${STORED_ITEM_SIGNATURE}"`);
      return { contents: source.replace(STORED_ITEM_SIGNATURE, `${STORED_ITEM_SIGNATURE}\n  return record;`), loader: "ts" };
    });
  },
};

/** A handler entry built with format-1 storage (compression off), with the deploy bundles' options. */
export async function compressionOffBundle(entry: string): Promise<string> {
  const result = await build({ ...BUNDLE_OPTIONS, entryPoints: [path.join(PROJECT_ROOT, entry)], plugins: [formatOneStorage] });
  return result.outputFiles[0]!.text;
}

function writeBundle(dir: string, name: string, code: string): string {
  const file = path.join(dir, name, BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

/** A wire-format item (as PutItem carries it) as the document client's item, for dynamoItemSize. */
export function itemFromWire(item: WireItem): Record<string, unknown> {
  const value = (v: Record<string, unknown>): unknown => {
    if ("S" in v) return v.S;
    // As the document client reads numbers: a double when it writes back the same digits.
    if ("N" in v) return String(Number(v.N)) === v.N ? Number(v.N) : new NumberValue(v.N as string);
    if ("B" in v) return Buffer.from(v.B as string, "base64");
    if ("BOOL" in v) return v.BOOL;
    if ("NULL" in v) return null;
    if ("L" in v) return (v.L as Record<string, unknown>[]).map(value);
    if ("M" in v) return Object.fromEntries(Object.entries(v.M as WireItem).map(([k, x]) => [k, value(x)]));
    throw new Error(`unexpected attribute value ${JSON.stringify(v).slice(0, 80)}`);
  };
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, value(v)]));
}

const WEBHOOK_SOURCE = "github";
const LARGE_CASE = "pull_request_opened";
/** The sweep's sized payloads (not the typical event nor pull_request.opened, which are storage classes). */
const sweepCases = () => cpuCases().filter((c) => c.name.startsWith("payload_"));

export async function measureLargeEvents(options: { quick?: boolean } = {}): Promise<LargeEventResults> {
  const rounds = options.quick ? 6 : 16;
  const { output, cases } = await runLargeEvents({ rounds, blockScale: options.quick ? 0.5 : 1 });
  return {
    cpu: cpuFigures(output.blocks, cases.map((c) => ({ name: c.name, label: c.label, payload_bytes: Buffer.byteLength(c.payload) })), rounds),
    storage: storageFigures(output),
    goals: LARGE_GOALS,
  };
}

/**
 * Builds the bundles (into `buildDir`, default .build/bench/large), starts the instant endpoint and
 * the runner, and returns the runner's raw output. `blockScale` scales the requests per block (1:
 * about 0.1 s of CPU per block; 0: one request, as a test does with `rounds: 0`, which then only
 * captures the items and runs each variant once).
 */
export async function runLargeEvents(options: { rounds: number; blockScale: number; buildDir?: string }): Promise<{ output: LargeRunnerOutput; cases: LargeCase[] }> {
  const dir = options.buildDir ?? path.join(BUILD_DIR, "large");
  const minimal = buildSync({ ...BUNDLE_OPTIONS, entryPoints: [path.join(__dirname, "floor", "minimalHandler.ts")] }).outputFiles[0]!.text;
  const bundles: LargeRunnerInput["bundles"] = {
    ingest: { ours: writeBundle(dir, "ingest-ours", bundleHandler(HANDLERS.ingest.entry)), off: writeBundle(dir, "ingest-format1", await compressionOffBundle(HANDLERS.ingest.entry)) },
    webhook: { ours: writeBundle(dir, "webhook-ours", bundleHandler(HANDLERS.webhook.entry)), off: writeBundle(dir, "webhook-format1", await compressionOffBundle(HANDLERS.webhook.entry)) },
    floor: writeBundle(dir, "minimal", minimal),
  };
  const secret = generateSecret("github");
  const parameter = `/event-ingestion/bench/webhooks/${WEBHOOK_SOURCE}`;
  const endpoint = await startChildServer<{ endpoint: string }>(path.join(__dirname, "large", "instantAws.mjs"), {
    execArgv: [],
    env: { PATH: process.env.PATH ?? "", BENCH_WEBHOOK_SECRETS: JSON.stringify([secret]) },
  });
  const cases = cpuCases();
  // About 0.1 s of CPU per block and variant at scale 1.
  const perBlock = (body: string) => Math.max(1, Math.round((options.blockScale * 300 * 300) / Math.max(300, Buffer.byteLength(body) / 8)));
  try {
    const input: LargeRunnerInput = {
      bundles,
      endpoint: endpoint.info.endpoint,
      webhook: { source: WEBHOOK_SOURCE, secret },
      cpuCases: cases,
      largeCase: LARGE_CASE,
      storageClasses: [...storageClasses(), ...sweepCases()],
      githubBodies: githubExampleBodies(),
      rounds: options.rounds,
      blockSize: Object.fromEntries(cases.map((c) => [c.name, perBlock(c.body)])),
    };
    const runner = await startChildServer<{ ok: boolean; output?: LargeRunnerOutput; error?: string }>(path.join(__dirname, "large", "runner.ts"), {
      env: {
        ...FUNCTION_ENVIRONMENT,
        AWS_ENDPOINT_URL_DYNAMODB: endpoint.info.endpoint,
        AWS_ENDPOINT_URL_SSM: endpoint.info.endpoint,
        // The dev stack's maxWebhookBytes default (Pulumi.yaml); pull_request.opened is far below it.
        [ENV.maxWebhookBytes]: String(1024 * 1024),
        ...webhookEnvironment([{ name: WEBHOOK_SOURCE, scheme: "github", parameter }], 300),
      },
      input,
    });
    if (!runner.info.ok) throw new Error(`large-event runner failed: ${runner.info.error}`);
    return { output: runner.info.output!, cases };
  } finally {
    await endpoint.stop();
  }
}

const cpuOf = (r: BlockResult[]) => round(median(r.map((b) => b.cpuUsPerOp)), 1);
const p50Of = (r: BlockResult[]) => round(median(r.flatMap((b) => b.latenciesMs)));
/** Median over rounds of a ÷ b in the same round. */
const roundRatio = (a: BlockResult[], b: BlockResult[]) => round(median(a.map((x, i) => x.cpuUsPerOp / b[i]!.cpuUsPerOp)));

function pair(a: BlockResult[], b: BlockResult[]) {
  const ratios = a.map((x, i) => x.cpuUsPerOp / b[i]!.cpuUsPerOp);
  return { ours_cpu_us: cpuOf(a), base_cpu_us: cpuOf(b), cpu_ratio: roundRatio(a, b), cpu_ratio_iqr: [round(quantile(ratios, 0.25)), round(quantile(ratios, 0.75))] as [number, number], ours_p50_ms: p50Of(a), base_p50_ms: p50Of(b), p50_ratio: ratio(median(a.flatMap((x) => x.latenciesMs)), median(b.flatMap((x) => x.latenciesMs))) };
}

function cpuFigures(blocks: Record<string, BlockResult[]>, cases: { name: string; label: string; payload_bytes: number }[], rounds: number): LargeCpuFigures {
  const b = (name: string) => blocks[name]!;
  return {
    rounds,
    by_size: cases.map((c) => ({ ...c, ...pair(b(`${c.name}:ours`), b(`${c.name}:off`)) })),
    webhook_large: pair(b(`${LARGE_CASE}:webhook_ours`), b(`${LARGE_CASE}:webhook_off`)),
    large_vs_floor: { ...pair(b(`${LARGE_CASE}:ours`), b(`${LARGE_CASE}:floor`)), off_cpu_ratio: roundRatio(b(`${LARGE_CASE}:off`), b(`${LARGE_CASE}:floor`)) },
  };
}

export function storageFigures(output: LargeRunnerOutput): LargeEventResults["storage"] {
  const prices = storagePrices(loadPrices().prices);
  const cost = (wire: WireItem, format: "before" | "after", payloadBytes: number): StorageCost => itemStorageCost(itemFromWire(wire), format, prices, { payloadBytes });
  const priced = (label: string, name: string, items: Record<Bundle, WireItem>, payloadBytes: number): LargeStorageClass => {
    const before = cost(items.off, "before", payloadBytes);
    const after = cost(items.ours, "after", payloadBytes);
    return {
      name,
      label,
      payload_bytes: payloadBytes,
      after_storage_format: items.ours.storage_format?.N === undefined ? 1 : Number(items.ours.storage_format.N),
      before,
      after,
      write_ratio: ratio(after.writeUnits.total, before.writeUnits.total),
      listing_page_25: { before: round(25 * before.listReadUnits, 2), after: round(25 * after.listReadUnits, 2), ratio: ratio(after.listReadUnits, before.listReadUnits) },
    };
  };
  const classes = storageClasses().map((c) => priced(c.label, c.name, output.classItems[c.name]!, Buffer.byteLength(c.payload)));
  const sweep = sweepCases().map((c) => priced(c.label, c.name, output.classItems[c.name]!, Buffer.byteLength(c.payload)));
  const examples = githubExamples()
    .map((e, i) => priced(`${e.event}.${e.action ?? ""}`, `example_${i}`, { ours: output.githubItems.ours[i]!, off: output.githubItems.off[i]! }, Buffer.byteLength(e.text)))
    .sort((a, b) => a.payload_bytes - b.payload_bytes);
  const ratios = examples.map((e) => e.write_ratio).sort((a, b) => a - b);
  const medianExample = examples[Math.floor((examples.length - 1) / 2)]!;
  // Where compression starts to pay: the smallest sweep size from which on every size saves write
  // units, and from which on every size's listing page stays within the goal.
  const fromOn = (ok: (c: LargeStorageClass) => boolean) => sweep.find((_, i) => sweep.slice(i).every(ok))?.payload_bytes ?? null;
  return {
    classes,
    sweep,
    pays_off_from_bytes: { write_units: fromOn((c) => c.after.writeUnits.total < c.before.writeUnits.total), listing_within_goal: fromOn((c) => c.listing_page_25.ratio <= LARGE_GOALS.listing_ratio) },
    github_examples: {
      count: examples.length,
      median_write_ratio: ratios[Math.floor(ratios.length / 2)]!,
      median_by_size: { ...medianExample, name: "github_median", label: `GitHub examples, median (${(medianExample.payload_bytes / 1024).toFixed(1)} KB)` },
      write_units_total: { before: examples.reduce((s, e) => s + e.before.writeUnits.total, 0), after: examples.reduce((s, e) => s + e.after.writeUnits.total, 0) },
      listing_ratio_max: Math.max(...examples.map((e) => e.listing_page_25.ratio)),
      listing_over_goal: examples.filter((e) => e.listing_page_25.ratio > LARGE_GOALS.listing_ratio).length,
      largest_payload_listing_over_goal: Math.max(0, ...examples.filter((e) => e.listing_page_25.ratio > LARGE_GOALS.listing_ratio).map((e) => e.payload_bytes)),
    },
  };
}

/** `npx tsx bench/large.ts [--quick] [--json]`: this section alone, as its table (or JSON); `npm run bench` runs it with the rest. */
if (require.main === module) {
  measureLargeEvents({ quick: process.argv.includes("--quick") }).then(
    (result) => {
      if (process.argv.includes("--json")) return console.log(JSON.stringify(result, null, 2));
      printTable(largeEventRows(result));
      console.log(`\n${describeMachine().cpu}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at the end; ${result.cpu.rounds} rounds`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
