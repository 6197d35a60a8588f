/**
 * Queued mode (ingestMode queued), two same-run comparisons:
 *
 * 1. API latency, queued vs direct: the local stack in each mode in its own process (gateway
 *    emulator, the deploy bundles; direct writes to dynalite on disk, queued sends to the local
 *    SQS journal), POST /events from one keep-alive client, the two modes alternating in blocks.
 *    p50 and p99 of the client-observed latency. The queued stack's processor is paused: in AWS it
 *    runs in its own function, here it would share the stack's one process (and this machine's
 *    cores) with the API being measured. Goal: queued p50 ≤ direct p50.
 * 2. Processor throughput vs a bare write of the same batches: the processor handler
 *    (createQueueProcessor: Powertools' BatchProcessor, decode and re-validate each message, the
 *    shared event writer's conditional put) fed SQS events of 10 messages, against the same
 *    records written with parallel conditional PutItems and nothing else; both on one in-memory
 *    dynalite, `CONCURRENCY` batches in flight, fresh records each round, rounds alternating.
 *    Reported on wall-clock time and on this process's CPU time (dynalite runs in it too), the
 *    latter free of other tenants' noise on a shared machine. Goal: processor ≥ 0.8 × bare.
 */
import * as path from "node:path";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent } from "aws-lambda";
import { createQueueProcessor } from "../handlers/lib/queue/processQueue";
import { setLogSink } from "../handlers/lib/ops/log";
import { encodeQueueMessage } from "../handlers/lib/queue/queueMessage";
import { createSqsClient } from "../handlers/lib/queue/queueSender";
import type { EventRecord } from "../handlers/lib/events/record";
import { EventRepository } from "../handlers/lib/store/store";
import { EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { startDynalite } from "../test/support/dynalite";
import { typicalRecord } from "./itemSize";
import { startChildServer } from "./lib/child";
import { typicalEventBody, INGEST_SETTINGS } from "./lib/fixtures";
import { median, quantile, ratio, round } from "./lib/stats";
import type { ModeStackInfo } from "./queued/stackServer";

const API = { rounds: 6, block: 100, warmup: 100 };
const PROCESSOR = { rounds: 8, batches: 60, batchSize: 10, concurrency: 5 };

export interface QueuedBenchResult {
  api: {
    direct_p50_ms: number;
    direct_p99_ms: number;
    queued_p50_ms: number;
    queued_p99_ms: number;
    p50_ratio: number;
    p99_ratio: number;
    requests_per_mode: number;
    goal_queued_p50_at_most_direct: boolean;
  };
  processor: {
    processor_events_per_s: number;
    bare_write_events_per_s: number;
    ratio: number;
    /** Events per CPU-second of this process (handler + dynalite), processor ÷ bare. */
    cpu_ratio: number;
    processor_cpu_us_per_event: number;
    bare_write_cpu_us_per_event: number;
    batch_size: number;
    concurrency: number;
    goal_at_least_0_8: boolean;
  };
}

export async function measureQueued(options: { quick?: boolean } = {}): Promise<QueuedBenchResult> {
  const api = await apiLatency(options.quick ? 3 : API.rounds);
  const processor = await processorThroughput(options.quick ? 3 : PROCESSOR.rounds);
  return { api, processor };
}

async function startMode(mode: "direct" | "queued") {
  process.env.BENCH_INGEST_MODE = mode;
  try {
    return await startChildServer<ModeStackInfo>(path.join(__dirname, "queued", "stackServer.ts"));
  } finally {
    delete process.env.BENCH_INGEST_MODE;
  }
}

async function apiLatency(rounds: number): Promise<QueuedBenchResult["api"]> {
  const direct = await startMode("direct");
  const queued = await startMode("queued");
  try {
    const post = async (info: ModeStackInfo, sequence: number): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${info.url}/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${info.apiKey}`, "content-type": "application/json" },
        body: typicalEventBody(sequence),
      });
      await response.arrayBuffer();
      if (response.status !== 201 && response.status !== 202) throw new Error(`POST /events answered ${response.status}`);
      return performance.now() - started;
    };
    let sequence = 0;
    for (const info of [direct.info, queued.info]) for (let i = 0; i < API.warmup; i++) await post(info, ++sequence);
    const samples = { direct: [] as number[], queued: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      // Alternate which mode goes first, so neither always runs on a warmer machine.
      const order = round % 2 === 0 ? (["direct", "queued"] as const) : (["queued", "direct"] as const);
      for (const mode of order) {
        const info = mode === "direct" ? direct.info : queued.info;
        for (let i = 0; i < API.block; i++) samples[mode].push(await post(info, ++sequence));
      }
    }
    const p = (values: number[], q: number) => round(quantile(values, q), 3);
    const result = {
      direct_p50_ms: p(samples.direct, 0.5),
      direct_p99_ms: p(samples.direct, 0.99),
      queued_p50_ms: p(samples.queued, 0.5),
      queued_p99_ms: p(samples.queued, 0.99),
      p50_ratio: ratio(quantile(samples.queued, 0.5), quantile(samples.direct, 0.5)),
      p99_ratio: ratio(quantile(samples.queued, 0.99), quantile(samples.direct, 0.99)),
      requests_per_mode: samples.direct.length,
    };
    return { ...result, goal_queued_p50_at_most_direct: result.queued_p50_ms <= result.direct_p50_ms };
  } finally {
    await direct.stop();
    await queued.stop();
  }
}

async function processorThroughput(rounds: number): Promise<QueuedBenchResult["processor"]> {
  const dynamo = await startDynalite();
  const restoreSink = setLogSink(() => {}); // the processor's metrics lines, one per batch
  const sqs = createSqsClient({ endpoint: "http://127.0.0.1:9", region: "eu-north-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  try {
    const context = { functionName: "bench", awsRequestId: "bench", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
    const batchesOf = (records: EventRecord[]) =>
      Array.from({ length: PROCESSOR.batches }, (_, b) => records.slice(b * PROCESSOR.batchSize, (b + 1) * PROCESSOR.batchSize));
    const freshRecords = () => Array.from({ length: PROCESSOR.batches * PROCESSOR.batchSize }, () => typicalRecord());
    /** Runs `work` over every batch with CONCURRENCY in flight; events per second and CPU µs per event. */
    const drive = async (batches: EventRecord[][], work: (batch: EventRecord[]) => Promise<void>) => {
      let next = 0;
      const events = batches.length * PROCESSOR.batchSize;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: PROCESSOR.concurrency }, async () => {
          for (let b = next++; b < batches.length; b = next++) await work(batches[b]!);
        }),
      );
      const used = process.cpuUsage(cpu);
      return { rate: events / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / events };
    };

    const rates = { processor: [] as number[], bare: [] as number[] };
    const cpu = { processor: [] as number[], bare: [] as number[] };
    for (let round = 0; round < rounds + 1; round++) {
      const table = await freshTable(dynamo, round);
      const repository = new EventRepository(dynamo.doc, table);
      const handler = createQueueProcessor({ repository, sqs, queueUrl: "http://127.0.0.1:9/none", statusIndexShards: INGEST_SETTINGS.statusIndexShards, maxEventBytes: INGEST_SETTINGS.maxEventBytes });
      const processorBatches = batchesOf(freshRecords());
      const bareBatches = batchesOf(freshRecords());
      const runProcessor = () =>
        drive(processorBatches, async (batch) => {
          const response = await handler(sqsEvent(batch), context);
          if (response.batchItemFailures.length > 0) throw new Error(`processor failed ${response.batchItemFailures.length} messages`);
        });
      const runBare = () =>
        drive(bareBatches, async (batch) => {
          await Promise.all(
            batch.map((record) =>
              dynamo.doc.send(new PutCommand({ TableName: table, Item: record, ConditionExpression: "attribute_not_exists(#id)", ExpressionAttributeNames: { "#id": EVENTS_TABLE.partitionKey.name } })),
            ),
          );
        });
      const [first, second] = round % 2 === 0 ? [runProcessor, runBare] : [runBare, runProcessor];
      const a = await first();
      const b = await second();
      if (round === 0) continue; // warm-up round
      for (const [run, figures] of [[first, a], [second, b]] as const) {
        const name = run === runProcessor ? "processor" : "bare";
        rates[name].push(figures.rate);
        cpu[name].push(figures.cpuUs);
      }
    }
    const processor = median(rates.processor);
    const bare = median(rates.bare);
    const processorCpu = median(cpu.processor);
    const bareCpu = median(cpu.bare);
    return {
      processor_events_per_s: round(processor, 1),
      bare_write_events_per_s: round(bare, 1),
      ratio: ratio(processor, bare),
      cpu_ratio: ratio(bareCpu, processorCpu),
      processor_cpu_us_per_event: round(processorCpu, 1),
      bare_write_cpu_us_per_event: round(bareCpu, 1),
      batch_size: PROCESSOR.batchSize,
      concurrency: PROCESSOR.concurrency,
      goal_at_least_0_8: bareCpu / processorCpu >= 0.8,
    };
  } finally {
    restoreSink && setLogSink(restoreSink);
    sqs.destroy();
    await dynamo.close();
  }
}

async function freshTable(dynamo: Awaited<ReturnType<typeof startDynalite>>, round: number): Promise<string> {
  const name = `bench-queued-${round}-${Date.now()}`;
  await dynamo.createTable(EVENTS_TABLE, name);
  return name;
}

function sqsEvent(records: EventRecord[]): SQSEvent {
  return {
    Records: records.map((record, i) => ({
      messageId: `${record.event_id}-${i}`,
      receiptHandle: "bench",
      body: encodeQueueMessage(record),
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "bench", ApproximateFirstReceiveTimestamp: "0" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-north-1:000000000000:bench",
      awsRegion: "eu-north-1",
    })),
  };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  measureQueued({ quick: process.argv.includes("--quick") }).then((result) => console.log(JSON.stringify(result, null, 2)));
}
