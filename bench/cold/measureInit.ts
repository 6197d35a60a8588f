/**
 * Module init times: many fresh Node processes per module, run round-robin over all modules so a
 * busy moment on the shared machine falls on every module alike.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { ENV } from "../../handlers/lib/primitives/tables";

const run = promisify(execFile);
const PROBE = path.join(__dirname, "initProbe.mjs");

/** What each deployed function finds in its environment; credentials are set so nothing looks for more. */
export const FUNCTION_ENVIRONMENT: Record<string, string> = {
  PATH: process.env.PATH ?? "",
  AWS_REGION: "eu-north-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  [ENV.eventsTable]: "event-ingestion-bench-events",
  [ENV.apiKeysTable]: "event-ingestion-bench-api-keys",
  [ENV.statusIndexShards]: "8",
  [ENV.maxEventBytes]: "65536",
};

/** Per module, one entry per round: milliseconds from process start until the handler was ready. */
export type InitSamples = Record<string, { ready_ms: number[]; import_ms: number[] }>;

export async function measureInitTimes(modules: Record<string, string>, rounds: number): Promise<InitSamples> {
  const samples: InitSamples = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, file] of Object.entries(modules)) {
      const { stdout } = await run(process.execPath, [PROBE, file], { env: FUNCTION_ENVIRONMENT, cwd: path.dirname(file) });
      const { ready_ms, import_ms } = JSON.parse(stdout) as { ready_ms: number; import_ms: number };
      const s = (samples[name] ??= { ready_ms: [], import_ms: [] });
      s.ready_ms.push(ready_ms);
      s.import_ms.push(import_ms);
    }
  }
  return samples;
}
