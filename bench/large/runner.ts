/**
 * Runs in a child process (bench/large.ts forks it, stdout ignored): imports the shipped ingest and
 * webhook bundles, the same entries built with format-1 storage (compression off: "today's"), and
 * the minimal floor bundle, all pointed at the instant endpoint (bench/large/instantAws.mjs).
 * First it sends each storage class and every GitHub example once through each ingest bundle with
 * the endpoint capturing the PutItem items; then it times the CPU cases in alternating blocks.
 */
import { createHmac, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { HttpEvent } from "../../handlers/lib/http/request";
import { postEvent } from "../../test/support/events";
import { webhookEvent } from "../../test/support/webhookHandler";
import { interleave, runBlock, type BlockResult } from "../lib/operations";
import type { LargeCase } from "./payloads";

export type Bundle = "ours" | "off";

export interface LargeRunnerInput {
  bundles: { ingest: Record<Bundle, string>; webhook: Record<Bundle, string>; floor: string };
  endpoint: string;
  webhook: { source: string; secret: string };
  cpuCases: LargeCase[];
  /** The case timed through the webhook route and against the floor too. */
  largeCase: string;
  storageClasses: LargeCase[];
  githubBodies: string[];
  rounds: number;
  /** Requests per block, by case (larger payloads take longer per request). */
  blockSize: Record<string, number>;
}

/** Wire-format DynamoDB items (as PutItem sent them). */
export type WireItem = Record<string, Record<string, unknown>>;

export interface LargeRunnerOutput {
  blocks: Record<string, BlockResult[]>;
  /** Per storage class name, the item each bundle sent. */
  classItems: Record<string, Record<Bundle, WireItem>>;
  /** The GitHub examples' items, in input order, per bundle. */
  githubItems: Record<Bundle, WireItem[]>;
}

type Handler = (event: unknown) => Promise<{ statusCode: number; body?: string }>;

async function main(input: LargeRunnerInput): Promise<LargeRunnerOutput> {
  const load = async (file: string) => ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
  const ingest = { ours: await load(input.bundles.ingest.ours), off: await load(input.bundles.ingest.off) };
  const webhook = { ours: await load(input.bundles.webhook.ours), off: await load(input.bundles.webhook.off) };
  const floor = await load(input.bundles.floor);

  const call = async (handler: Handler, event: HttpEvent, expected: number[]) => {
    const response = await handler(event);
    if (!expected.includes(response.statusCode)) throw new Error(`answered ${response.statusCode}: ${response.body}`);
  };
  const control = async (path: string) => (await fetch(`${input.endpoint}${path}`, { method: "POST" })).json();
  const captureEach = async (handler: Handler, bodies: string[]): Promise<WireItem[]> => {
    await control("/__bench/capture");
    for (const body of bodies) await call(handler, postEvent(body), [201]);
    const items = (await control("/__bench/captured")) as WireItem[];
    if (items.length !== bodies.length) throw new Error(`captured ${items.length} items for ${bodies.length} events`);
    return items;
  };

  const classItems: LargeRunnerOutput["classItems"] = {};
  const classBodies = input.storageClasses.map((c) => c.body);
  const [oursItems, offItems] = [await captureEach(ingest.ours, classBodies), await captureEach(ingest.off, classBodies)];
  input.storageClasses.forEach((c, i) => (classItems[c.name] = { ours: oursItems[i]!, off: offItems[i]! }));
  const githubItems = { ours: await captureEach(ingest.ours, input.githubBodies), off: await captureEach(ingest.off, input.githubBodies) };

  const signed = (payload: string): HttpEvent =>
    webhookEvent(input.webhook.source, {
      body: payload,
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": `sha256=${createHmac("sha256", input.webhook.secret).update(payload).digest("hex")}`,
        "x-github-delivery": randomUUID(),
        "x-github-event": "pull_request",
        "user-agent": "GitHub-Hookshot/bench",
      },
    });
  const block = (handler: Handler, c: LargeCase, route: "events" | "webhook") => async () => {
    const count = input.blockSize[c.name]!;
    // Built before the clock starts: each request its own id (and, for the webhook, its own signature).
    const events = Array.from({ length: count }, () => (route === "events" ? postEvent(c.body) : signed(c.payload)));
    const expected = route === "events" ? [201] : [200, 201, 202];
    return runBlock((i) => call(handler, events[i]!, expected), count);
  };
  const variants: Record<string, () => Promise<BlockResult>> = {};
  for (const c of input.cpuCases) {
    variants[`${c.name}:ours`] = block(ingest.ours, c, "events");
    variants[`${c.name}:off`] = block(ingest.off, c, "events");
  }
  const large = input.cpuCases.find((c) => c.name === input.largeCase)!;
  variants[`${large.name}:floor`] = block(floor, large, "events");
  variants[`${large.name}:webhook_ours`] = block(webhook.ours, large, "webhook");
  variants[`${large.name}:webhook_off`] = block(webhook.off, large, "webhook");
  for (const warmup of Object.values(variants)) await warmup();
  return { blocks: await interleave(input.rounds, variants), classItems, githubItems };
}

process.once("message", (input) => {
  main(input as LargeRunnerInput).then(
    (output) => process.send!({ ok: true, output }, () => process.exit(0)),
    (error: Error) => process.send!({ ok: false, error: String(error.stack ?? error) }, () => process.exit(1)),
  );
});
