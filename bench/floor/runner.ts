/**
 * Runs in a child process (bench/floor.ts forks it with stdout ignored, as the handlers' log lines
 * would otherwise reach the terminal): imports the shipped ingest bundle and the minimal bundle,
 * both pointed at the instant endpoint, and times them in alternating blocks. Reports over IPC.
 */
import { pathToFileURL } from "node:url";
import { httpEvent, postEvent } from "../../test/support/events";
import { batchBody, BATCH_SIZE, typicalEventBody } from "../lib/fixtures";
import { interleave, runBlock, type BlockResult } from "../lib/operations";
import { profileSinglePath, type SinglePathProfile } from "./profile";

export interface RunnerInput {
  bundles: { ours: string; floor: string };
  rounds: number;
  singleBlock: number;
  batchBlock: number;
  /** Events for the single-path profile (0: none). */
  profileIterations: number;
  /** Set while `ours` is imported (its config is read at cold start), e.g. the catalogue's policy. */
  oursEnvironment?: Record<string, string>;
}

type Handler = (event: unknown) => Promise<{ statusCode: number; body?: string }>;
export interface RunnerOutput {
  blocks: Record<"ours_single" | "floor_single" | "ours_batch" | "floor_batch", BlockResult[]>;
  profile?: SinglePathProfile;
}

async function main(input: RunnerInput): Promise<RunnerOutput> {
  const load = async (file: string) => ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
  Object.assign(process.env, input.oursEnvironment ?? {});
  const ours = await load(input.bundles.ours);
  for (const name of Object.keys(input.oursEnvironment ?? {})) delete process.env[name];
  const floor = await load(input.bundles.floor);
  const single = typicalEventBody();
  let sequence = 0;

  const block = (handler: Handler, batch: boolean, count: number) => async () => {
    const events = Array.from({ length: count }, () =>
      batch ? httpEvent({ routeKey: "POST /events/batch", body: batchBody(BATCH_SIZE, ++sequence) }) : postEvent(single),
    );
    const expected = batch ? 200 : 201;
    return runBlock(async (i) => {
      const response = await handler(events[i]);
      if (response.statusCode !== expected) throw new Error(`answered ${response.statusCode}: ${response.body}`);
    }, count);
  };
  const variants = {
    ours_single: block(ours, false, input.singleBlock),
    floor_single: block(floor, false, input.singleBlock),
    ours_batch: block(ours, true, input.batchBlock),
    floor_batch: block(floor, true, input.batchBlock),
  };
  for (const warmup of Object.values(variants)) await warmup();
  const blocks = await interleave(input.rounds, variants);
  return { blocks, ...(input.profileIterations > 0 ? { profile: await profileSinglePath(input.profileIterations) } : {}) };
}

process.once("message", (input) => {
  main(input as RunnerInput).then(
    (output) => process.send!({ ok: true, output }, () => process.exit(0)),
    (error: Error) => process.send!({ ok: false, error: String(error.stack ?? error) }, () => process.exit(1)),
  );
});
