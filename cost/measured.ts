/** The measured inputs of the cost model, as the bench writes them to and the CLI reads them from results.json. */
import * as fs from "node:fs";
import * as path from "node:path";
import { AUTHORIZER_HANDLER, HANDLERS } from "../handlers/routes";
import { STORAGE_WAIT_MS, type MeasuredInputs } from "./model";

/** What `npm run bench -- --write` records (bench/results.json): the measured inputs the cost model reads. */
export const RESULTS_FILE = path.join(__dirname, "..", "bench", "results.json");

export interface BenchFigures {
  item: { typical_request_bytes: number; typical_stored_bytes: number };
  handler_overhead: { log_bytes_single: number; log_bytes_batch25: number };
  floor: { single: { ours_cpu_us: number }; batch25: { ours_cpu_us_per_request: number } };
  peers: { authorizer: { our_check_ms: number; log_bytes_per_check: number } };
  access_log_bytes: number;
}

export function measuredInputs(figures: BenchFigures): MeasuredInputs {
  return {
    typicalRequestBytes: figures.item.typical_request_bytes,
    typicalStoredBytes: figures.item.typical_stored_bytes,
    ingestCpuMs: { single: figures.floor.single.ours_cpu_us / 1000, batch25: figures.floor.batch25.ours_cpu_us_per_request / 1000 },
    storageWaitMs: { ...STORAGE_WAIT_MS },
    authorizerDurationMs: figures.peers.authorizer.our_check_ms,
    ingestLogBytes: { single: figures.handler_overhead.log_bytes_single, batch25: figures.handler_overhead.log_bytes_batch25 },
    authorizerLogBytes: figures.peers.authorizer.log_bytes_per_check,
    accessLogBytes: figures.access_log_bytes,
    ingestMemoryMb: HANDLERS.ingest.memoryMb,
    authorizerMemoryMb: AUTHORIZER_HANDLER.memoryMb,
  };
}

/** The inputs the last `npm run bench` recorded, and when. */
export function readMeasuredInputs(file = RESULTS_FILE): { inputs: MeasuredInputs; date: string } {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist; run \`npm run bench\` first`);
  const results = JSON.parse(fs.readFileSync(file, "utf8")) as { cost_inputs?: MeasuredInputs; date?: string };
  if (!results.cost_inputs?.ingestCpuMs) throw new Error(`${file} has no cost_inputs of this version; run \`npm run bench -- --write\` again`);
  return { inputs: results.cost_inputs, date: results.date ?? "unknown" };
}
