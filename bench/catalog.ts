/**
 * What the event catalogue costs, by the floor method (bench/floor.ts): the ingest bundle built
 * with a catalogue in place of events/catalog.ts, against the same bundle with an empty one, both
 * talking to the instant DynamoDB endpoint, in alternating blocks of one process.
 * - CPU per request for the typical 300-byte event checked against a 10-field schema
 *   (`catalogMode: enforce`), ÷ today's (catalogue off): goal ≤ 1.10;
 * - init of the ingest bundle with 50 declared types ÷ with none, fresh processes: goal ≤ 1.05,
 *   with the schemas built at load and with them given as functions (built on first use).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { build, type Plugin } from "esbuild";
import { BUNDLE_FILE, BUNDLE_OPTIONS, PROJECT_ROOT } from "../components/bundle";
import { HANDLERS } from "../handlers/routes";
import { ENV } from "../handlers/lib/primitives/tables";
import { FUNCTION_ENVIRONMENT, measureInitTimes } from "./cold/measureInit";
import { BUILD_DIR } from "./cold/packagings";
import { initRatio } from "./coldStart";
import type { RunnerInput, RunnerOutput } from "./floor/runner";
import { startChildServer } from "./lib/child";
import { median, round } from "./lib/stats";

export const CATALOG_GOALS = { single_cpu_ratio: 1.1, init_ratio_50_types: 1.05 } as const;

export interface CatalogBenchResult {
  /** CPU per request, µs, median over rounds: enforce with 10 fields / off. */
  enforce_cpu_us: number;
  off_cpu_us: number;
  single_cpu_ratio: number;
  /** 50 types whose payload schemas are built at load ÷ none. */
  init_ratio_50_types: number;
  /** 50 types whose payload schemas are functions, built on first use ÷ none. */
  init_ratio_50_types_lazy: number;
  rounds: number;
}

type Variant = "tenFields" | "fiftyTypes" | "fiftyTypesLazy" | "none";

/** The ingest bundle with bench/catalog/catalogs.ts's `variant` as its catalogue. */
async function ingestBundle(variant: Variant): Promise<string> {
  const swapCatalogue: Plugin = {
    name: "bench-catalogue",
    setup(builder) {
      // Only the entry's import of the program's catalogue (`../events/catalog` from handlers/*.ts).
      builder.onResolve({ filter: /^\.\.\/events\/catalog$/ }, (args) =>
        path.dirname(args.importer) === path.join(PROJECT_ROOT, "handlers") ? { path: path.join(__dirname, "catalog", "catalogs.ts") } : undefined,
      );
    },
  };
  const code = (await build({ ...BUNDLE_OPTIONS, entryPoints: [path.join(PROJECT_ROOT, HANDLERS.ingest.entry)], plugins: [swapCatalogue], define: { BENCH_CATALOG: JSON.stringify(variant) } })).outputFiles[0]!.text;
  const file = path.join(BUILD_DIR, "catalog", variant, BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

export async function measureCatalog(options: { quick?: boolean } = {}): Promise<CatalogBenchResult> {
  const bundles = { ours: await ingestBundle("tenFields"), floor: await ingestBundle("none") };
  const env = { PATH: process.env.PATH ?? "" };
  const endpoint = await startChildServer<{ endpoint: string }>(path.join(__dirname, "floor", "instantDynamo.mjs"), { execArgv: [], env });
  let blocks: RunnerOutput["blocks"];
  try {
    const input: RunnerInput = {
      bundles,
      rounds: options.quick ? 6 : 16,
      singleBlock: options.quick ? 150 : 300,
      batchBlock: options.quick ? 5 : 10,
      profileIterations: 0,
      oursEnvironment: { [ENV.catalogMode]: "enforce", [ENV.unknownEventTypes]: "reject" },
    };
    const runner = await startChildServer<{ ok: boolean; output?: RunnerOutput; error?: string }>(path.join(__dirname, "floor", "runner.ts"), {
      env: { ...FUNCTION_ENVIRONMENT, AWS_ENDPOINT_URL_DYNAMODB: endpoint.info.endpoint },
      input,
    });
    if (!runner.info.ok) throw new Error(`catalogue runner failed: ${runner.info.error}`);
    blocks = runner.info.output!.blocks;
  } finally {
    await endpoint.stop();
  }
  const cpu = (r: { cpuUsPerOp: number }[]) => round(median(r.map((b) => b.cpuUsPerOp)), 1);
  const init = await measureInitTimes({ none: bundles.floor, fifty: await ingestBundle("fiftyTypes"), fiftyLazy: await ingestBundle("fiftyTypesLazy") }, options.quick ? 7 : 21);
  return {
    enforce_cpu_us: cpu(blocks.ours_single),
    off_cpu_us: cpu(blocks.floor_single),
    single_cpu_ratio: round(median(blocks.ours_single.map((b, i) => b.cpuUsPerOp / blocks.floor_single[i]!.cpuUsPerOp))),
    init_ratio_50_types: initRatio(init, "fifty", "none"),
    init_ratio_50_types_lazy: initRatio(init, "fiftyLazy", "none"),
    rounds: options.quick ? 6 : 16,
  };
}

if (require.main === module) {
  measureCatalog({ quick: process.argv.includes("--quick") }).then(
    (result) => console.log(JSON.stringify({ ...result, goals: CATALOG_GOALS }, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
