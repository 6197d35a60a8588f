/**
 * Code-only cost: the shipped ingest bundle against the minimal handler (bench/floor/minimalHandler.ts)
 * bundled with the same esbuild options and SDK, both talking to a DynamoDB endpoint that answers
 * `{}` at once from its own process. Storage time is gone, so what is left is each handler's own
 * CPU: its code, the SDK's request building, signing and parsing. The two alternate in blocks in
 * one process (bench/floor/runner.ts); every figure is a same-run ratio, median over rounds.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { BUNDLE_FILE, BUNDLE_OPTIONS, bundleHandler } from "../components/bundle";
import { HANDLERS } from "../handlers/routes";
import { FUNCTION_ENVIRONMENT } from "./cold/measureInit";
import { BUILD_DIR } from "./cold/packagings";
import type { SinglePathProfile } from "./floor/profile";
import type { RunnerInput, RunnerOutput } from "./floor/runner";
import { startChildServer } from "./lib/child";
import { BATCH_SIZE } from "./lib/fixtures";
import type { BlockResult } from "./lib/operations";
import { median, ratio, round } from "./lib/stats";

export const FLOOR_GOALS = { batch_cpu_ratio: 1.5, batch_p50_ratio: 1.5, single_cpu_ratio: 1.1, init_ratio: 1.1 } as const;

export interface FloorPath {
  /** Process CPU per request (single) or per event (batch), µs, median over rounds. */
  ours_cpu_us: number;
  floor_cpu_us: number;
  /** Median over rounds of ours ÷ floor in the same round. */
  cpu_ratio: number;
  ours_p50_ms: number;
  floor_p50_ms: number;
  p50_ratio: number;
}

export interface FloorResult {
  single: FloorPath;
  batch25: FloorPath & { ours_cpu_us_per_request: number; floor_cpu_us_per_request: number };
  rounds: number;
  /** Where a single event's CPU goes, step by step (bench/floor/profile.ts). */
  profile?: SinglePathProfile;
  /** The minimal bundle, for the init comparison in the cold-start section. */
  minimal_bundle_file: string;
  minimal_bundle_bytes: number;
}

/** The minimal handler, built as the deploy bundles are. */
export function writeMinimalBundle(): string {
  const code = buildSync({ ...BUNDLE_OPTIONS, entryPoints: [path.join(__dirname, "floor", "minimalHandler.ts")] }).outputFiles[0]!.text;
  return writeFile("minimal", code);
}

function writeFile(name: string, code: string): string {
  const file = path.join(BUILD_DIR, "floor", name, BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

export async function measureFloor(options: { quick?: boolean } = {}): Promise<FloorResult> {
  const bundles = { ours: writeFile("ingest", bundleHandler(HANDLERS.ingest.entry)), floor: writeMinimalBundle() };
  const endpoint = await startChildServer<{ endpoint: string }>(path.join(__dirname, "floor", "instantDynamo.mjs"), { execArgv: [], env: childEnvironment({}) });
  try {
    const input: RunnerInput = {
      bundles,
      rounds: options.quick ? 6 : 16,
      singleBlock: options.quick ? 150 : 300,
      batchBlock: options.quick ? 30 : 60,
      profileIterations: options.quick ? 1_000 : 3_000,
    };
    const runner = await startChildServer<{ ok: boolean; output?: RunnerOutput; error?: string }>(path.join(__dirname, "floor", "runner.ts"), {
      env: childEnvironment({ ...FUNCTION_ENVIRONMENT, AWS_ENDPOINT_URL_DYNAMODB: endpoint.info.endpoint }),
      input,
    });
    if (!runner.info.ok) throw new Error(`floor runner failed: ${runner.info.error}`);
    const out = runner.info.output!.blocks;
    const single = summarize(out.ours_single, out.floor_single, 1);
    const batch = summarize(out.ours_batch, out.floor_batch, BATCH_SIZE);
    return {
      single,
      batch25: { ...batch, ours_cpu_us_per_request: round(batch.ours_cpu_us * BATCH_SIZE, 1), floor_cpu_us_per_request: round(batch.floor_cpu_us * BATCH_SIZE, 1) },
      rounds: input.rounds,
      ...(runner.info.output!.profile ? { profile: runner.info.output!.profile } : {}),
      minimal_bundle_file: bundles.floor,
      minimal_bundle_bytes: fs.statSync(bundles.floor).size,
    };
  } finally {
    await endpoint.stop();
  }
}

function summarize(ours: BlockResult[], floor: BlockResult[], eventsPerRequest: number): FloorPath {
  const cpu = (r: BlockResult[]) => round(median(r.map((b) => b.cpuUsPerOp)) / eventsPerRequest, 1);
  const p50 = (r: BlockResult[]) => median(r.flatMap((b) => b.latenciesMs));
  return {
    ours_cpu_us: cpu(ours),
    floor_cpu_us: cpu(floor),
    cpu_ratio: round(median(ours.map((b, i) => b.cpuUsPerOp / floor[i]!.cpuUsPerOp))),
    ours_p50_ms: round(p50(ours)),
    floor_p50_ms: round(p50(floor)),
    p50_ratio: ratio(p50(ours), p50(floor)),
  };
}

/** Only the given variables (as a Lambda function sees only its own), plus PATH to start node. */
function childEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...env, PATH: process.env.PATH ?? "" };
}
