/**
 * The client library (client/), two same-run comparisons:
 *
 * 1. Overhead per event: EventClient at its defaults against bare `fetch` of the same batches
 *    (the same events, the same idempotency keys made per event, the same JSON, batches of 100,
 *    4 requests in flight), both against the in-process fake ingest server
 *    (test/support/fakeIngestServer.ts), which answers at once, so the difference is the
 *    client's own work: queueing, a promise per event, per-item results mapped back. Rounds
 *    alternate; medians. Reported as a ratio and in µs per event.
 * 2. Events per second from one process, batched (the defaults) against one by one
 *    (`maxBatchSize: 1`, so each event is its own POST /events), 4 requests in flight either way:
 *    (a) against the fake server, where each request costs the same whatever it carries, as a
 *    request does at API Gateway and Lambda: this is the goal's figure, batched ≥ 10 × one by one;
 *    (b) through the local stack in direct mode, in its own process (bench/local/stackServer.ts).
 *    There dynalite's write rate bounds both (bench "local": raw puts/s ≈ 4.5 × single events/s),
 *    so (b) shows the ceiling of one machine's emulator, not the client.
 */
import * as path from "node:path";
import { EventClient, isAccepted, SERVER_LIMITS } from "../client/src/index";
import { startFakeIngestServer } from "../test/support/fakeIngestServer";
import { startChildServer } from "./lib/child";
import { median, ratio, round, timeMs } from "./lib/stats";
import type { StackServerInfo } from "./local/stackServer";

const OVERHEAD = { rounds: 5, events: 10_000, concurrency: 4 };
const THROUGHPUT = { fake: { batched: 20_000, single: 2000 }, stack: { batched: 2000, single: 300 } };
export const CLIENT_GOALS = { batched_vs_single_ratio: 10 };

export interface ClientBenchResult {
  overhead: {
    events_per_round: number;
    client_ms: number;
    bare_fetch_ms: number;
    ratio: number;
    overhead_us_per_event: number;
  };
  throughput: {
    /** Against the fake server: the goal's figure. */
    batched_events_per_s: number;
    one_by_one_events_per_s: number;
    ratio: number;
    goal_met: boolean;
    /** Through the local stack (dynalite-bound). */
    stack_batched_events_per_s: number;
    stack_one_by_one_events_per_s: number;
    stack_ratio: number;
    stack_retries: number;
  };
}

const payload = (i: number) => ({ order_id: `o-${i}`, total: 42.5, currency: "EUR", items: [{ sku: "sku-1", quantity: 2 }] });

export async function measureClient(): Promise<ClientBenchResult> {
  return { overhead: await measureOverhead(), throughput: await measureThroughput() };
}

async function measureOverhead(): Promise<ClientBenchResult["overhead"]> {
  const server = await startFakeIngestServer();
  const url = server.url;
  const bareBatches = async () => {
    const batchSize = SERVER_LIMITS.batchMaxEvents;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const start = next;
        next += batchSize;
        if (start >= OVERHEAD.events) return;
        const events = [];
        for (let i = start; i < Math.min(start + batchSize, OVERHEAD.events); i++) events.push({ event_type: "bench.client", payload: payload(i), idempotency_key: crypto.randomUUID() });
        const response = await fetch(`${url}/events/batch`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ events }),
        });
        await response.json();
      }
    };
    await Promise.all(Array.from({ length: OVERHEAD.concurrency }, worker));
  };
  const withClient = async () => {
    const client = new EventClient({ url, apiKey: server.apiKey, maxConcurrentRequests: OVERHEAD.concurrency, maxQueueSize: OVERHEAD.events });
    const sends = [];
    for (let i = 0; i < OVERHEAD.events; i++) sends.push(client.send("bench.client", payload(i)));
    await client.close();
    const outcomes = await Promise.all(sends);
    const lost = outcomes.find((o) => !isAccepted(o));
    if (lost) throw new Error(`bench: an event was not stored: ${JSON.stringify(lost)}`);
  };
  const client: number[] = [];
  const bare: number[] = [];
  try {
    await withClient(); // warm-up, both paths
    await bareBatches();
    for (let round = 0; round < OVERHEAD.rounds; round++) {
      server.reset();
      bare.push(await timeMs(bareBatches));
      server.reset();
      client.push(await timeMs(withClient));
    }
  } finally {
    await server.close();
  }
  const clientMs = median(client);
  const bareMs = median(bare);
  return {
    events_per_round: OVERHEAD.events,
    client_ms: round(clientMs, 1),
    bare_fetch_ms: round(bareMs, 1),
    ratio: ratio(clientMs, bareMs),
    overhead_us_per_event: round(((clientMs - bareMs) * 1000) / OVERHEAD.events, 2),
  };
}

/** Events per second through a client at `maxBatchSize`, everything sent, then close(). */
async function eventsPerSecond(url: string, apiKey: string, events: number, maxBatchSize: number): Promise<{ perSecond: number; retries: number }> {
  const client = new EventClient({ url, apiKey, maxBatchSize, maxQueueSize: events, maxRetries: 50 });
  const started = performance.now();
  const sends = [];
  for (let i = 0; i < events; i++) sends.push(client.send("bench.client", payload(i)));
  await client.close();
  const seconds = (performance.now() - started) / 1000;
  const lost = (await Promise.all(sends)).find((o) => !isAccepted(o));
  if (lost) throw new Error(`bench: an event was not stored: ${JSON.stringify(lost)}`);
  return { perSecond: events / seconds, retries: client.stats().retries };
}

async function measureThroughput(): Promise<ClientBenchResult["throughput"]> {
  const fake = await startFakeIngestServer();
  let fakeBatched: number;
  let fakeSingle: number;
  try {
    await eventsPerSecond(fake.url, fake.apiKey, 1000, 100); // warm-up
    fakeBatched = (await eventsPerSecond(fake.url, fake.apiKey, THROUGHPUT.fake.batched, SERVER_LIMITS.batchMaxEvents)).perSecond;
    fakeSingle = (await eventsPerSecond(fake.url, fake.apiKey, THROUGHPUT.fake.single, 1)).perSecond;
  } finally {
    await fake.close();
  }
  const stack = await startChildServer<StackServerInfo>(path.join(__dirname, "local", "stackServer.ts"));
  try {
    const { url, apiKey } = stack.info;
    await eventsPerSecond(url, apiKey, 200, 100); // warm-up
    const batched = await eventsPerSecond(url, apiKey, THROUGHPUT.stack.batched, SERVER_LIMITS.batchMaxEvents);
    const single = await eventsPerSecond(url, apiKey, THROUGHPUT.stack.single, 1);
    const r = ratio(fakeBatched, fakeSingle);
    return {
      batched_events_per_s: round(fakeBatched, 0),
      one_by_one_events_per_s: round(fakeSingle, 0),
      ratio: r,
      goal_met: r >= CLIENT_GOALS.batched_vs_single_ratio,
      stack_batched_events_per_s: round(batched.perSecond, 0),
      stack_one_by_one_events_per_s: round(single.perSecond, 0),
      stack_ratio: ratio(batched.perSecond, single.perSecond),
      stack_retries: batched.retries + single.retries,
    };
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  measureClient().then((result) => console.log(JSON.stringify(result, null, 2)));
}
