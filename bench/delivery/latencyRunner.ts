/**
 * Runs in a child process (bench/delivery.ts forks it with stdout ignored, for the functions' log
 * lines): the local stack (npm run dev's, with one subscription to a receiver on 127.0.0.1, every
 * event type) and, at a steady modest rate rather than a flood, one event POSTed to the API and one
 * bare signed POST sent straight to the same receiver per tick. Each delivery's latency is from
 * its event's `created_at` (stamped as it is stored) to its arrival at the receiver; each bare
 * POST's from the moment it is sent to its arrival. Reports the samples over IPC.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sendDelivery } from "../../handlers/lib/delivery/sender";
import { signDelivery, webhookIdOf } from "../../handlers/lib/delivery/signing";
import { newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import { startLocalStack } from "../../local/stack";
import { SubscriptionStore } from "../../local/subscriptionStore";
import { startReceiver } from "../../test/support/receiver";
import { typicalEventBody } from "../lib/fixtures";

export interface LatencyRunnerInput {
  perSecond: number;
  seconds: number;
  warmup: number;
}
export interface LatencyRunnerOutput {
  deliveryMs: number[];
  bareMs: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(input: LatencyRunnerInput): Promise<LatencyRunnerOutput> {
  const secret = newSubscriptionSecret();
  const arrivals = new Map<string, number>();
  const created = new Map<string, number>();
  const receiver = await startReceiver(secret, (d) => {
    const at = Date.now();
    arrivals.set(d.eventId, at);
    if (typeof d.body.created_at === "string" && !d.eventId.startsWith("bare-")) created.set(d.eventId, Date.parse(d.body.created_at));
    return { status: 204 };
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-bench-delivery-"));
  new SubscriptionStore(dataDir).put("bench", receiver.url, [], secret);
  const stack = await startLocalStack({ dataDir, port: 0, dynamoPort: 0, sqsPort: 0 });
  try {
    const key = stack.createdApiKey!;
    const postEvent = async (sequence: number): Promise<string> => {
      const response = await fetch(`${stack.url}/events`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: typicalEventBody(sequence) });
      if (response.status !== 201) throw new Error(`POST /events answered ${response.status}`);
      return ((await response.json()) as { event_id: string }).event_id;
    };
    const sent = new Map<string, number>();
    const bare = async (i: number) => {
      const eventId = `bare-${i}`;
      const body = typicalEventBody(i).replace(/^\{/, `{"event_id":"${eventId}",`);
      const headers = signDelivery({ webhookId: webhookIdOf(eventId, "bench", 0), timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
      sent.set(eventId, Date.now());
      const result = await sendDelivery(receiver.url, body, { ...headers }, { timeoutMs: 15_000, allowLoopback: true });
      if (!result.ok) throw new Error(`bare POST failed: ${result.error ?? result.status}`);
    };
    const until = async (ids: string[]) => {
      const deadline = Date.now() + 60_000;
      while (ids.some((id) => !arrivals.has(id))) {
        if (Date.now() > deadline) throw new Error(`${ids.filter((id) => !arrivals.has(id)).length} deliveries never arrived`);
        await sleep(10);
      }
    };

    // Warm-up: the bundles' first invocations (cold starts) are not what is measured.
    const warm = await Promise.all(Array.from({ length: input.warmup }, (_, i) => postEvent(i)));
    await until(warm);

    const ids: Promise<string>[] = [];
    const bares: Promise<void>[] = [];
    const ticks = Math.round(input.perSecond * input.seconds);
    const start = Date.now();
    for (let i = 0; i < ticks; i++) {
      await sleep(Math.max(0, start + (i * 1000) / input.perSecond - Date.now()));
      ids.push(postEvent(input.warmup + i));
      bares.push(bare(i));
    }
    const measured = await Promise.all(ids);
    await Promise.all(bares);
    await until(measured);
    return {
      deliveryMs: measured.map((id) => arrivals.get(id)! - created.get(id)!),
      bareMs: [...sent].map(([id, at]) => arrivals.get(id)! - at),
    };
  } finally {
    await stack.close();
    await receiver.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

process.once("message", (input) => {
  main(input as LatencyRunnerInput).then(
    (output) => process.send!({ ok: true, output }, () => process.exit(0)),
    (error: Error) => process.send!({ ok: false, error: String(error.stack ?? error) }, () => process.exit(1)),
  );
});
