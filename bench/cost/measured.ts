/** The measured inputs of the cost model, as the bench writes them to and the CLI reads them from results.json. */
import * as fs from "node:fs";
import { AUTHORIZER_HANDLER, HANDLERS } from "../../handlers/routes";
import { RESULTS_FILE } from "../lib/report";
import type { MeasuredInputs } from "./model";

export interface BenchFigures {
  item: { typical_request_bytes: number; typical_stored_bytes: number };
  handler_overhead: { handler_p50_ms: number; batch25_p50_ms: number; log_bytes_single: number; log_bytes_batch25: number };
  peers: { authorizer: { our_check_ms: number; log_bytes_per_check: number } };
  access_log_bytes: number;
}

export function measuredInputs(figures: BenchFigures): MeasuredInputs {
  return {
    typicalRequestBytes: figures.item.typical_request_bytes,
    typicalStoredBytes: figures.item.typical_stored_bytes,
    ingestDurationMs: { single: figures.handler_overhead.handler_p50_ms, batch25: figures.handler_overhead.batch25_p50_ms },
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
  if (!results.cost_inputs) throw new Error(`${file} has no cost_inputs; run \`npm run bench\` again`);
  return { inputs: results.cost_inputs, date: results.date ?? "unknown" };
}
