/**
 * Handler overhead: the full POST /events handler (API Gateway v2 event → strict JSON → schema →
 * enrichment → conditional put) against a bare PutCommand of the same item, in one process, on one
 * in-memory dynalite, in alternating blocks. A third variant, the bare put with the handler's
 * condition (attribute_not_exists), splits the gap into what dynalite spends evaluating the
 * condition and what the handler's own code spends. Also the handler's durations (single and
 * 25-event batch) and log bytes per request, which the cost model bills.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { newEventId } from "../handlers/lib/primitives/ids";
import { createIngestHandler } from "../handlers/lib/api/ingestEvent";
import { setLogSink } from "../handlers/lib/ops/log";
import { EventRepository } from "../handlers/lib/store/store";
import { EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { startDynalite, type TestDynamo } from "../test/support/dynalite";
import { httpEvent, postEvent } from "../test/support/events";
import { typicalRecord } from "./itemSize";
import { batchBody, BATCH_SIZE, BENCH_EVENTS_TABLE, INGEST_SETTINGS, typicalEventBody } from "./lib/fixtures";
import { interleave, runBlock, type BlockResult } from "./lib/operations";
import { median, quantile, ratio, round } from "./lib/stats";

const WARMUP = 300;
const LATENCY = { rounds: 20, block: 100 };
const THROUGHPUT = { rounds: 12, block: 400, concurrency: 8 };
const BATCH_RUNS = 40;

export interface HandlerOverheadResult {
  p50_ratio: number;
  p99_ratio: number;
  throughput_ratio: number;
  /** Process CPU per operation, handler ÷ bare put: the throughput cost free of other tenants' noise. */
  cpu_per_op_ratio: number;
  handler_cpu_us_per_op: number;
  bare_put_cpu_us_per_op: number;
  /** The same ratios against the conditional put the handler sends: the handler's own share. */
  vs_conditional_put: { p50_ratio: number; throughput_ratio: number; cpu_per_op_ratio: number; conditional_put_p50_ms: number };
  handler_p50_ms: number;
  handler_p99_ms: number;
  bare_put_p50_ms: number;
  bare_put_p99_ms: number;
  handler_ops_per_s: number;
  bare_put_ops_per_s: number;
  batch25_p50_ms: number;
  /** Bytes the handler logs per request (one JSON line), single event and batch. */
  log_bytes_single: number;
  log_bytes_batch25: number;
  /** Write units dynalite reports for one put of the typical item (table only: dynalite does not report index units). */
  consumed_write_units_table: number;
}

export async function measureHandlerOverhead(): Promise<HandlerOverheadResult> {
  const dynamo = await startDynalite();
  const logBytes: number[] = [];
  const restoreSink = setLogSink((line) => void logBytes.push(Buffer.byteLength(line) + 1));
  try {
    await dynamo.createTable(EVENTS_TABLE, BENCH_EVENTS_TABLE);
    const handler = createIngestHandler({
      repository: new EventRepository(dynamo.doc, BENCH_EVENTS_TABLE),
      config: { eventsTable: BENCH_EVENTS_TABLE, ...INGEST_SETTINGS },
    });
    const body = typicalEventBody();
    const template = typicalRecord();

    // The same item, a new id each time, built before the clock starts (as the handler's event is).
    const handlerBlock = async (count: number, concurrency: number) => {
      const events = Array.from({ length: count }, () => postEvent(body));
      return runBlock(async (i) => {
        const response = await handler(events[i]!);
        if (response.statusCode !== 201) throw new Error(`handler answered ${response.statusCode}: ${response.body}`);
      }, count, concurrency);
    };
    const putBlock = (condition: object) => async (count: number, concurrency: number) => {
      const items = Array.from({ length: count }, () => ({ ...template, event_id: newEventId(Date.now()) }));
      return runBlock((i) => dynamo.doc.send(new PutCommand({ TableName: BENCH_EVENTS_TABLE, Item: items[i], ...condition })), count, concurrency);
    };
    const bareBlock = putBlock({});
    const conditionalBlock = putBlock({ ConditionExpression: "attribute_not_exists(#id)", ExpressionAttributeNames: { "#id": EVENTS_TABLE.partitionKey.name } });
    const blocks = (count: number, concurrency: number) => ({
      handler: () => handlerBlock(count, concurrency),
      bare: () => bareBlock(count, concurrency),
      conditional: () => conditionalBlock(count, concurrency),
    });
    type Variant = keyof ReturnType<typeof blocks>;

    for (const warmup of Object.values(blocks(WARMUP, 1))) await warmup();
    const latency = await interleave(LATENCY.rounds, blocks(LATENCY.block, 1));
    const throughput = await interleave(THROUGHPUT.rounds, blocks(THROUGHPUT.block, THROUGHPUT.concurrency));
    const latencies = (name: Variant) => latency[name].flatMap((r) => r.latenciesMs);
    const [handlerMs, bareMs, conditionalMs] = [latencies("handler"), latencies("bare"), latencies("conditional")];
    /** Median over rounds of `a`'s figure ÷ `b`'s in the same round. */
    const paired = (a: Variant, b: Variant, figure: (r: BlockResult) => number) => round(median(throughput[a].map((r, i) => figure(r) / figure(throughput[b][i]!))));
    const cpu = (name: Variant) => round(median(throughput[name].map((r) => r.cpuUsPerOp)), 1);

    logBytes.length = 0;
    await handler(postEvent(body));
    const logSingle = logBytes.reduce((a, b) => a + b, 0);
    const batchMs = await batchDurations(handler, BATCH_RUNS);
    logBytes.length = 0;
    await handler(httpEvent({ routeKey: "POST /events/batch", body: batchBody(BATCH_SIZE, 999_999) }));
    const logBatch = logBytes.reduce((a, b) => a + b, 0);

    return {
      p50_ratio: ratio(median(handlerMs), median(bareMs)),
      p99_ratio: ratio(quantile(handlerMs, 0.99), quantile(bareMs, 0.99)),
      throughput_ratio: paired("handler", "bare", (r) => r.perSecond),
      cpu_per_op_ratio: paired("handler", "bare", (r) => r.cpuUsPerOp),
      handler_cpu_us_per_op: cpu("handler"),
      bare_put_cpu_us_per_op: cpu("bare"),
      vs_conditional_put: {
        p50_ratio: ratio(median(handlerMs), median(conditionalMs)),
        throughput_ratio: paired("handler", "conditional", (r) => r.perSecond),
        cpu_per_op_ratio: paired("handler", "conditional", (r) => r.cpuUsPerOp),
        conditional_put_p50_ms: round(median(conditionalMs)),
      },
      handler_p50_ms: round(median(handlerMs)),
      handler_p99_ms: round(quantile(handlerMs, 0.99)),
      bare_put_p50_ms: round(median(bareMs)),
      bare_put_p99_ms: round(quantile(bareMs, 0.99)),
      handler_ops_per_s: Math.round(median(throughput.handler.map((r) => r.perSecond))),
      bare_put_ops_per_s: Math.round(median(throughput.bare.map((r) => r.perSecond))),
      batch25_p50_ms: round(median(batchMs)),
      log_bytes_single: logSingle,
      log_bytes_batch25: logBatch,
      consumed_write_units_table: await consumedWriteUnits(dynamo, template),
    };
  } finally {
    setLogSink(restoreSink);
    await dynamo.close();
  }
}

async function batchDurations(handler: ReturnType<typeof createIngestHandler>, runs: number): Promise<number[]> {
  const events = Array.from({ length: runs }, (_, i) => httpEvent({ routeKey: "POST /events/batch", body: batchBody(BATCH_SIZE, i + 1) }));
  const result = await runBlock(async (i) => {
    const response = await handler(events[i]!);
    if (response.statusCode !== 200) throw new Error(`batch answered ${response.statusCode}: ${response.body}`);
  }, runs);
  return result.latenciesMs;
}

async function consumedWriteUnits(dynamo: TestDynamo, template: ReturnType<typeof typicalRecord>) {
  const { ConsumedCapacity } = await dynamo.doc.send(
    new PutCommand({ TableName: BENCH_EVENTS_TABLE, Item: { ...template, event_id: newEventId(Date.now()) }, ReturnConsumedCapacity: "TOTAL" }),
  );
  return ConsumedCapacity?.CapacityUnits ?? NaN;
}
