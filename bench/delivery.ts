/**
 * `npx tsx bench/delivery.ts [--events N]`: delivery latency and throughput on the local stack,
 * each against a bare signed POST to the same receiver measured in the same run.
 * - latency: from the event's `created_at` (storage) to its arrival at the receiver, p50/p99,
 *   against a bare signed POST's round trip; the added p50 is the "≤ 1 s locally" goal;
 * - throughput: deliveries per second of the whole path (stream → dispatcher → queue → deliverer →
 *   receiver) against bare signed POSTs sent with the same concurrency as the deliverer's pollers.
 * Not yet part of `npm run bench` (bench/run.ts); prints one JSON object.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { newSubscriptionSecret } from "../handlers/lib/delivery/subscriptions";
import { sendDelivery } from "../handlers/lib/delivery/sender";
import { signDelivery, webhookIdOf } from "../handlers/lib/delivery/signing";
import { DELIVERY_BATCH_SIZE, DELIVERY_QUEUE } from "../handlers/routes";
import { startLocalStack } from "../local/stack";
import { SubscriptionStore } from "../local/subscriptionStore";
import { startReceiver } from "../test/support/receiver";
import { quantile, ratio, round } from "./lib/stats";

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { events: { type: "string", default: "300" } } });
  const count = Number(values.events);
  const secret = newSubscriptionSecret();
  const arrivals = new Map<string, number>();
  const receiver = await startReceiver(secret, (d) => {
    if (d.eventId) arrivals.set(d.eventId, Date.now());
    return { status: 204 };
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-bench-delivery-"));
  new SubscriptionStore(dataDir).put("bench", receiver.url, [], secret);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const quiet = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => (String(chunk).startsWith('{"timestamp"') ? true : quiet(chunk as string, ...(rest as []))) ) as typeof process.stdout.write;
  const stack = await startLocalStack({ dataDir, port: 0, dynamoPort: 0, sqsPort: 0 });
  try {
    const key = stack.createdApiKey!;
    // Bare signed POSTs: the floor, with the deliverer's concurrency.
    const concurrency = DELIVERY_BATCH_SIZE * DELIVERY_QUEUE.maximumConcurrency;
    const bareLatencies: number[] = [];
    const bareStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          const body = JSON.stringify({ event_id: `bare-${i}`, event_type: "bench.bare", payload: { i } });
          const headers = signDelivery({ webhookId: webhookIdOf(`bare-${i}`, "bench", 0), timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
          const started = performance.now();
          await sendDelivery(receiver.url, body, { ...headers }, { timeoutMs: 15_000, allowLoopback: true });
          bareLatencies.push(performance.now() - started);
        }
      }),
    );
    const bareSeconds = (Date.now() - bareStart) / 1000;

    // Through the stack: events in batches of 100, latency from created_at to arrival.
    const created = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < count; i += 100) {
      const events = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({ event_type: "bench.delivery", payload: { n: i + j } }));
      const response = await fetch(`${stack.url}/events/batch`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ events }) });
      const body = (await response.json()) as { results: { event_id: string }[] };
      for (const r of body.results) created.set(r.event_id, Date.now());
    }
    while ([...created.keys()].some((id) => !arrivals.has(id))) await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (Date.now() - start) / 1000;
    const latencies: number[] = [];
    for (const [id] of created) {
      const event = (await (await fetch(`${stack.url}/events/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { created_at: string };
      latencies.push(arrivals.get(id)! - Date.parse(event.created_at));
    }
    const result = {
      events: count,
      delivery_latency_ms: { p50: round(quantile(latencies, 0.5), 1), p99: round(quantile(latencies, 0.99), 1) },
      bare_post_ms: { p50: round(quantile(bareLatencies, 0.5), 1), p99: round(quantile(bareLatencies, 0.99), 1) },
      added_p50_ms: round(quantile(latencies, 0.5) - quantile(bareLatencies, 0.5), 1),
      deliveries_per_second: round(count / seconds, 1),
      bare_posts_per_second: round(count / bareSeconds, 1),
      throughput_ratio: round(ratio(count / seconds, count / bareSeconds), 3),
    };
    quiet(JSON.stringify(result, null, 2) + "\n");
  } finally {
    await stack.close();
    await receiver.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
