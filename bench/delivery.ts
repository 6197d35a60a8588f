/**
 * Deliveries (issue 21), two same-run comparisons (docs/BENCHMARKS.md "Deliveries", docs/adr/0041):
 *
 * 1. CPU per delivery, code only: the shipped deliverer bundle against a minimal deliverer bundle
 *    (bench/delivery/minimalDeliverer.ts, the same esbuild options and SDK: one GetItem, a Standard
 *    Webhooks signature, the POST, one UpdateItem), both against a DynamoDB/SSM endpoint that
 *    answers at once from its own process (bench/delivery/instantStore.mjs) and the same receiver
 *    (its own process), alternating blocks of SQS batches in one child process. Deliveries per
 *    CPU-second, ours ÷ minimal (goal ≥ 0.8), and ours ÷ bare signed POSTs with no storage at all
 *    (the literal baseline; reported, no goal: see the ADR).
 * 2. Latency on the local stack: events POSTed at a steady modest rate; from each event's
 *    `created_at` to its arrival at a real receiver, p50/p99, against a bare signed POST to the
 *    same receiver sent at the same ticks. Goal: added p50 ≤ 1 s.
 *
 * `npx tsx bench/delivery.ts [--quick]` prints the result alone; `npm run bench` includes it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { marshall } from "@aws-sdk/util-dynamodb";
import { buildSync } from "esbuild";
import { BUNDLE_FILE, BUNDLE_OPTIONS, bundleHandler } from "../components/bundle";
import { encodeDeliveryMessage } from "../handlers/lib/delivery/message";
import { webhookIdOf } from "../handlers/lib/delivery/signing";
import { deliveryEnvironment, encodeSubscriptionSecrets, newSubscriptionSecret } from "../handlers/lib/delivery/subscriptions";
import { publicEvent, storedItem } from "../handlers/lib/events/record";
import { writeJson } from "../handlers/lib/primitives/json";
import { newEventId } from "../handlers/lib/primitives/ids";
import { DELIVERIES_TABLE } from "../handlers/lib/primitives/tables";
import { DELIVERY_BATCH_SIZE, DELIVERY_HANDLERS } from "../handlers/routes";
import { FUNCTION_ENVIRONMENT } from "./cold/measureInit";
import { BUILD_DIR } from "./cold/packagings";
import type { CpuRunnerInput, CpuRunnerOutput } from "./delivery/cpuRunner";
import type { LatencyRunnerInput, LatencyRunnerOutput } from "./delivery/latencyRunner";
import { typicalRecord } from "./itemSize";
import { startChildServer } from "./lib/child";
import { BENCH_EVENTS_TABLE } from "./lib/fixtures";
import type { BlockResult } from "./lib/operations";
import { median, quantile, round } from "./lib/stats";

export const DELIVERY_GOALS = { cpu_ratio_vs_minimal: 0.8, added_p50_ms: 1000 } as const;

export interface DeliveryBenchResult {
  cpu: {
    ours_cpu_us_per_delivery: number;
    minimal_cpu_us_per_delivery: number;
    bare_post_cpu_us_per_delivery: number;
    /** Deliveries per CPU-second, ours ÷ minimal deliverer: median over rounds of the same-round ratio. */
    ratio_vs_minimal: number;
    /** Deliveries per CPU-second, ours ÷ bare signed POSTs (no storage). */
    ratio_vs_bare_post: number;
    /** The same for the minimal deliverer: what storing any status at all costs against the bare POST. */
    minimal_ratio_vs_bare_post: number;
    batch_size: number;
    rounds: number;
    goal_met: boolean;
  };
  latency: {
    delivery_p50_ms: number;
    delivery_p99_ms: number;
    bare_post_p50_ms: number;
    bare_post_p99_ms: number;
    added_p50_ms: number;
    events: number;
    per_second: number;
    goal_met: boolean;
  };
}

const SUBSCRIPTION = "bench";
const QUEUE = "event-ingestion-bench-delivery-bench";
const DELIVERIES = "event-ingestion-bench-deliveries";

export async function measureDelivery(options: { quick?: boolean } = {}): Promise<DeliveryBenchResult> {
  const cpu = await measureCpu(options.quick === true);
  const latency = await measureLatency(options.quick === true);
  return { cpu, latency };
}

function writeBundle(name: string, code: string): string {
  const file = path.join(BUILD_DIR, "delivery", name, BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

async function measureCpu(quick: boolean): Promise<DeliveryBenchResult["cpu"]> {
  const bundles = {
    ours: writeBundle("deliverer", bundleHandler(DELIVERY_HANDLERS.deliverer.entry)),
    minimal: writeBundle("minimal", buildSync({ ...BUNDLE_OPTIONS, entryPoints: [path.join(__dirname, "delivery", "minimalDeliverer.ts")] }).outputFiles[0]!.text),
  };
  const secret = newSubscriptionSecret();
  // A batch of DELIVERY_BATCH_SIZE distinct events (typical records with their own ids), as a real
  // batch carries: the batched read then asks for 2 keys per message, not 2 in all.
  const base = typicalRecord();
  const records = Array.from({ length: DELIVERY_BATCH_SIZE }, (_, i) => ({ ...base, event_id: i === 0 ? base.event_id : newEventId(Date.parse(base.created_at) + i) }));
  const marshalled = (item: object) => marshall(item, { removeUndefinedValues: true });
  const stateOf = (record: typeof base) => ({
    [DELIVERIES_TABLE.partitionKey.name]: record.event_id,
    [DELIVERIES_TABLE.sortKey!.name]: `sub#${SUBSCRIPTION}`,
    subscription: SUBSCRIPTION,
    event_type: record.event_type,
    state: "pending",
    webhook_id: webhookIdOf(record.event_id, SUBSCRIPTION, 0),
    generation: 0,
    attempts: 0,
    tries: 0,
    matched: 1,
    created_at: record.created_at,
    ttl: Math.floor(Date.now() / 1000) + 86_400,
  });
  const byId = (item: (record: typeof base) => object) => Object.fromEntries(records.map((r) => [r.event_id, marshalled(item(r))]));
  const settledOf = (record: typeof base) => ({ ...stateOf(record), state: "delivered", attempts: 1, tries: 1, delivered_at: record.created_at, last_attempt_at: record.created_at });

  const receiver = await startChildServer<{ url: string }>(path.join(__dirname, "delivery", "receiverServer.ts"), { input: { secret } });
  const store = await startChildServer<{ endpoint: string }>(path.join(__dirname, "delivery", "instantStore.mjs"), {
    execArgv: [],
    env: { PATH: process.env.PATH ?? "" },
    input: { eventsTable: BENCH_EVENTS_TABLE, events: byId(storedItem), states: byId(stateOf), settled: byId(settledOf), parameterValue: encodeSubscriptionSecrets([secret]) },
  });
  try {
    const endpoint = store.info.endpoint;
    const input: CpuRunnerInput = {
      bundles,
      rounds: quick ? 6 : 12,
      batchesPerBlock: quick ? 15 : 30,
      batchSize: DELIVERY_BATCH_SIZE,
      messageBodies: records.map((r) => encodeDeliveryMessage({ event_id: r.event_id, subscription: SUBSCRIPTION, webhook_id: webhookIdOf(r.event_id, SUBSCRIPTION, 0), attempt: 1 })),
      queueArn: `arn:aws:sqs:eu-north-1:000000000000:${QUEUE}`,
      receiverUrl: receiver.info.url,
      secret,
      bareBody: writeJson(publicEvent(base)),
    };
    const env = {
      ...FUNCTION_ENVIRONMENT,
      ...deliveryEnvironment({
        subscriptions: [{ name: SUBSCRIPTION, url: receiver.info.url, filters: [], queueUrl: `${endpoint}/000000000000/${QUEUE}`, secretParameter: `/event-ingestion/bench/subscriptions/${SUBSCRIPTION}/secret` }],
        deliveriesTable: DELIVERIES,
        allowLoopback: true,
      }),
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      MINIMAL_RECEIVER_URL: receiver.info.url,
      MINIMAL_SECRET: secret,

    };
    // DELIVERY_BENCH_PROFILE_DIR=dir: the runner writes a V8 CPU profile there (the bundles' file
    // names tell ours from the minimal deliverer's time), for finding where the CPU goes.
    const profileDir = process.env.DELIVERY_BENCH_PROFILE_DIR;
    const execArgv = ["--require", "tsx/cjs", ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])];
    const runner = await startChildServer<{ ok: boolean; output?: CpuRunnerOutput; error?: string }>(path.join(__dirname, "delivery", "cpuRunner.ts"), { env, input, execArgv });
    if (!runner.info.ok) throw new Error(`delivery CPU runner failed: ${runner.info.error}`);
    const { ours, minimal, bare } = runner.info.output!.blocks;
    const perDelivery = (blocks: BlockResult[]) => median(blocks.map((b) => b.cpuUsPerOp)) / DELIVERY_BATCH_SIZE;
    // Deliveries per CPU-second are the inverse of CPU per delivery: a ÷ b = cpu(b) ÷ cpu(a).
    const sameRound = (a: BlockResult[], b: BlockResult[]) => round(median(a.map((block, i) => b[i]!.cpuUsPerOp / block.cpuUsPerOp)));
    const ratioVsMinimal = sameRound(ours, minimal);
    return {
      ours_cpu_us_per_delivery: round(perDelivery(ours), 1),
      minimal_cpu_us_per_delivery: round(perDelivery(minimal), 1),
      bare_post_cpu_us_per_delivery: round(perDelivery(bare), 1),
      ratio_vs_minimal: ratioVsMinimal,
      ratio_vs_bare_post: sameRound(ours, bare),
      minimal_ratio_vs_bare_post: sameRound(minimal, bare),
      batch_size: DELIVERY_BATCH_SIZE,
      rounds: input.rounds,
      goal_met: ratioVsMinimal >= DELIVERY_GOALS.cpu_ratio_vs_minimal,
    };
  } finally {
    await store.stop();
    await receiver.stop();
  }
}

async function measureLatency(quick: boolean): Promise<DeliveryBenchResult["latency"]> {
  const input: LatencyRunnerInput = { perSecond: 20, seconds: quick ? 5 : 10, warmup: 20 };
  const runner = await startChildServer<{ ok: boolean; output?: LatencyRunnerOutput; error?: string }>(path.join(__dirname, "delivery", "latencyRunner.ts"), { input });
  if (!runner.info.ok) throw new Error(`delivery latency runner failed: ${runner.info.error}`);
  const { deliveryMs, bareMs } = runner.info.output!;
  const added = quantile(deliveryMs, 0.5) - quantile(bareMs, 0.5);
  return {
    delivery_p50_ms: round(quantile(deliveryMs, 0.5), 1),
    delivery_p99_ms: round(quantile(deliveryMs, 0.99), 1),
    bare_post_p50_ms: round(quantile(bareMs, 0.5), 1),
    bare_post_p99_ms: round(quantile(bareMs, 0.99), 1),
    added_p50_ms: round(added, 1),
    events: deliveryMs.length,
    per_second: input.perSecond,
    goal_met: added <= DELIVERY_GOALS.added_p50_ms,
  };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  measureDelivery({ quick: process.argv.includes("--quick") }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
