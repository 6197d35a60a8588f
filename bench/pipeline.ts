/**
 * The SNS pipeline per event, in one process on one in-memory dynalite: the generated state
 * machine executed by the ASL interpreter with the real bundles and the serialized example stages
 * (what `PIPELINE=true npm run dev` runs), against the direct write of the same event (strict read,
 * schema, the shared writer's prepare + conditional put: what Store alone does, and what
 * POST /events does without HTTP). Also each function's own duration and log bytes, and the
 * stored item's size, which the pipeline cost model bills (cost/pipelineModel.ts).
 */
import { EventInputSchema } from "../handlers/lib/events/schema";
import { createEventWriter } from "../handlers/lib/store/eventWriter";
import { readJson } from "../handlers/lib/primitives/json";
import { dynamoItemSize } from "../handlers/lib/events/record";
import { createDocumentClient, EventRepository } from "../handlers/lib/store/store";
import { eventStoreEnvironment } from "../handlers/lib/ops/config";
import { EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { LambdaHost } from "../local/lambdaHost";
import { LocalPipeline } from "../local/pipeline";
import { paymentStages } from "../pipelines/payments";
import { startDynalite, TEST_CREDENTIALS } from "../test/support/dynalite";
import { OWN_STAGE_MEMORY_MB } from "../components/pipelineDefinition";
import * as fs from "node:fs";
import { readMeasuredInputs } from "../cost/measured";
import { estimateCost, type Workload } from "../cost/model";
import { estimatePipelineCost, type PipelineMeasuredInputs } from "../cost/pipelineModel";
import { loadPrices, type Prices } from "../cost/prices";
import { printTable, RESULTS_FILE, type Row } from "./lib/report";
import { quantile, ratio, round } from "./lib/stats";

const WARMUP = 50;
const ROUNDS = 400;
const TABLE = "bench-pipeline-events";
const REGION = "eu-north-1";

export interface PipelineBenchResult {
  events: number;
  direct_write_p50_ms: number;
  direct_write_p99_ms: number;
  pipeline_p50_ms: number;
  pipeline_p99_ms: number;
  /** Pipeline ÷ direct write, per event at the median. */
  p50_ratio: number;
  p99_ratio: number;
  /** Mean duration of each task's own function, ms (what Lambda would bill per invocation). */
  function_ms: Record<string, number>;
  /** What the interpreter itself adds per execution beyond the functions, ms (p50). */
  interpreter_overhead_p50_ms: number;
  /** Bytes the functions log per event (Store's one INFO line; the others log nothing on success). */
  log_bytes_per_event: number;
  /** DynamoDB's size of the stored payment event. */
  stored_item_bytes: number;
  /** The SNS message and the SQS body (the envelope) of the typical payment, bytes. */
  message_bytes: number;
  envelope_bytes: number;
  /** Bytes of the generated definition (Express bills memory in 64 MB chunks from 50 MB + definition + data). */
  definition_bytes: number;
  /** States entered per event on the happy path (what a Standard workflow would bill). */
  state_transitions_per_event: number;
}

function paymentMessage(i: number): string {
  return JSON.stringify({
    event_type: "payment.succeeded",
    payload: { payment_id: `pay_${i}`, amount: 125_000 + i, currency: "EUR", country: "SE", card_country: "SE", psp_reference: `psp-${i}-ref` },
    occurred_at: "2026-11-29T10:00:00Z",
  });
}

export async function measurePipeline(): Promise<PipelineBenchResult> {
  const dynamo = await startDynalite();
  const host = new LambdaHost();
  const saved = { ...process.env };
  const logLines: string[] = [];
  const write = process.stdout.write;
  // The bundles log to stdout; count the bytes instead of printing them.
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : String(chunk);
    if (text.startsWith('{"timestamp":')) {
      logLines.push(text);
      (rest.find((r) => typeof r === "function") as (() => void) | undefined)?.();
      return true;
    }
    return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await dynamo.createTable(EVENTS_TABLE, TABLE);
    const pipeline = await LocalPipeline.start({
      name: "payments",
      stages: paymentStages,
      host,
      region: REGION,
      environment: {
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        ...eventStoreEnvironment({ eventsTable: TABLE, statusIndexShards: 8, maxEventBytes: 65_536 }),
      },
    });
    const doc = createDocumentClient({ endpoint: dynamo.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
    const writer = createEventWriter({ repository: new EventRepository(doc, TABLE), config: { statusIndexShards: 8 } });
    const direct = async (i: number) => {
      const input = EventInputSchema.parse(readJson(paymentMessage(i), { maxDepth: 33 }));
      const prepared = writer.prepare(input, { origin: { pipeline: "direct" }, requestId: `r-${i}` });
      if (!prepared.ok) throw new Error("direct: not prepared");
      await writer.writeOne(prepared.record);
    };
    const viaPipeline = async (i: number) => {
      const { body } = pipeline.notification(paymentMessage(i));
      await pipeline.execute([sqsMessage(body, i)]);
    };
    const functionsInSequence = async (i: number, durations: Record<string, number[]>) => {
      const { body } = pipeline.notification(paymentMessage(1_000_000 + i));
      const timed = async (state: string, input: unknown) => {
        const started = performance.now();
        const output = await pipeline.invokeTask(state, input);
        (durations[state] ??= []).push(performance.now() - started);
        return output;
      };
      const accepted = await timed("Validate", sqsMessage(body, i));
      for (const stage of paymentStages) accepted.event = await timed(stage.name, accepted);
      await timed("Store", accepted);
    };

    for (let i = 0; i < WARMUP; i++) {
      await direct(-1 - i);
      await viaPipeline(-1 - i);
    }
    const directMs: number[] = [];
    const pipelineMs: number[] = [];
    const sequenceMs: number[] = [];
    const durations: Record<string, number[]> = {};
    // Alternating, so drift on a shared machine hits both sides alike.
    for (let i = 0; i < ROUNDS; i++) {
      let started = performance.now();
      await direct(i);
      directMs.push(performance.now() - started);
      started = performance.now();
      await viaPipeline(i);
      pipelineMs.push(performance.now() - started);
      started = performance.now();
      await functionsInSequence(i, durations);
      sequenceMs.push(performance.now() - started);
    }

    logLines.length = 0;
    const { messageId, body } = pipeline.notification(paymentMessage(2_000_000));
    await pipeline.execute([sqsMessage(body, 0)]);
    const logBytes = logLines.reduce((sum, line) => sum + Buffer.byteLength(line, "utf8"), 0);
    const stored = (await dynamo.scanAll(TABLE)).find((item) => (item.source as { sns_message_id?: string }).sns_message_id === messageId);
    if (!stored) throw new Error("bench: the pipeline stored nothing");
    doc.destroy();

    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    return {
      events: ROUNDS,
      direct_write_p50_ms: round(quantile(directMs, 0.5)),
      direct_write_p99_ms: round(quantile(directMs, 0.99)),
      pipeline_p50_ms: round(quantile(pipelineMs, 0.5)),
      pipeline_p99_ms: round(quantile(pipelineMs, 0.99)),
      p50_ratio: ratio(quantile(pipelineMs, 0.5), quantile(directMs, 0.5)),
      p99_ratio: ratio(quantile(pipelineMs, 0.99), quantile(directMs, 0.99)),
      function_ms: Object.fromEntries(Object.entries(durations).map(([state, values]) => [state, round(mean(values))])),
      interpreter_overhead_p50_ms: round(Math.max(0, quantile(pipelineMs, 0.5) - quantile(sequenceMs, 0.5))),
      log_bytes_per_event: logBytes,
      stored_item_bytes: dynamoItemSize(stored),
      message_bytes: Buffer.byteLength(paymentMessage(2_000_000), "utf8"),
      envelope_bytes: Buffer.byteLength(body, "utf8"),
      definition_bytes: Buffer.byteLength(JSON.stringify(pipeline.definition), "utf8"),
      // Messages (Map) + Validate + each stage + Store.
      state_transitions_per_event: 1 + 1 + paymentStages.length + 1,
    };
  } finally {
    process.stdout.write = write;
    host.close();
    await dynamo.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

function sqsMessage(body: string, i: number) {
  return {
    messageId: `bench-${i}`,
    receiptHandle: "r",
    body,
    attributes: {},
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs" as const,
    eventSourceARN: `arn:aws:sqs:${REGION}:000000000000:bench-buffer`,
    awsRegion: REGION,
  };
}

/** The pipeline cost model's inputs from a bench result. */
export function pipelineCostInputs(result: PipelineBenchResult): PipelineMeasuredInputs {
  const memory = (name: string) => (name === "Validate" || name === "Store" ? OWN_STAGE_MEMORY_MB : (paymentStages.find((s) => s.name === name)?.memoryMb ?? 256));
  return {
    messageBytes: result.message_bytes,
    envelopeBytes: result.envelope_bytes,
    storedItemBytes: result.stored_item_bytes,
    functions: Object.entries(result.function_ms).map(([name, durationMs]) => ({ name, durationMs, memoryMb: memory(name) })),
    logBytesPerEvent: result.log_bytes_per_event,
    stateTransitionsPerEvent: result.state_transitions_per_event,
  };
}

/**
 * The pipeline's share of bench/results.json and of the printed table: the latencies, and the
 * cost per million events next to the direct path's (`directUsdPerMillion`, POST /events at batch 1).
 */
export function pipelineReport(result: PipelineBenchResult, prices: Prices, directUsdPerMillion: number, eventsPerMonth: number) {
  const inputs = pipelineCostInputs(result);
  const cost = estimatePipelineCost(eventsPerMonth, inputs, prices);
  const figures = {
    ...result,
    cost_usd_per_million_events: round(cost.usd_per_million_events, 4),
    cost_ratio_to_direct: ratio(cost.usd_per_million_events, directUsdPerMillion),
    billed_execution_ms: cost.billed_execution_ms,
    standard_workflow_usd_per_million_events: round(cost.standard_workflow_usd_per_million_events, 4),
  };
  const rows: Row[] = [
    { section: "pipeline", figure: "per event p50 ms, direct write", value: result.direct_write_p50_ms },
    { section: "pipeline", figure: "per event p50 ms, pipeline (stages in-process)", value: result.pipeline_p50_ms },
    { section: "pipeline", figure: "p50 ratio (pipeline / direct write)", value: result.p50_ratio },
    { section: "pipeline", figure: "interpreter overhead p50 ms", value: result.interpreter_overhead_p50_ms },
    { section: "pipeline", figure: "USD per million events, pipeline", value: figures.cost_usd_per_million_events },
    { section: "pipeline", figure: "cost ratio (pipeline / POST /events)", value: figures.cost_ratio_to_direct },
  ];
  return { figures, inputs, rows };
}

/**
 * `npx tsx bench/pipeline.ts [--write]`: this benchmark alone. The direct path's cost comes from the
 * cost inputs of the last full `npm run bench -- --write` (bench/results.json); with `--write`, the
 * pipeline's figures are merged into that file, as a full run would write them.
 */
if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const results = JSON.parse(fs.readFileSync(RESULTS_FILE, "utf8"));
  const workload = results.cost.workload as Omit<Workload, "batchSize">;
  const { prices } = loadPrices();
  const direct = estimateCost({ ...workload, batchSize: 1 }, readMeasuredInputs().inputs, prices);
  measurePipeline()
    .then((result) => {
      const report = pipelineReport(result, prices, direct.ingest_usd_per_million_events, workload.eventsPerMonth);
      if (process.argv.includes("--write")) {
        fs.writeFileSync(RESULTS_FILE, JSON.stringify({ ...results, pipeline: { ...report.figures, date: new Date().toISOString() }, pipeline_cost_inputs: report.inputs }, null, 2) + "\n");
      }
      printTable(report.rows);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
