/**
 * CPU cost of validation plus enrichment: the ingest handler with a repository that stores
 * nothing, so everything but the write is timed (envelope, body decoding, strict JSON, schema,
 * enrichment, size guard, response, log line). Measured warm (back to back) and between real
 * dynalite puts, where caches are cold as they are in the overhead comparison. A per-phase
 * breakdown, from the same library functions in the handler's order, says where the time goes.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { newEventId } from "../handlers/lib/primitives/ids";
import { createIngestHandler } from "../handlers/lib/api/ingestEvent";
import { readJson } from "../handlers/lib/primitives/json";
import { setLogSink } from "../handlers/lib/ops/log";
import { buildEventRecord, dynamoItemSize } from "../handlers/lib/events/record";
import { EventInputSchema } from "../handlers/lib/events/schema";
import type { EventRepository } from "../handlers/lib/store/store";
import { EVENTS_TABLE } from "../handlers/lib/primitives/tables";
import { startDynalite } from "../test/support/dynalite";
import { postEvent } from "../test/support/events";
import { typicalRecord } from "./itemSize";
import { BENCH_EVENTS_TABLE, INGEST_SETTINGS, SINGLE_EVENT_MAX_DEPTH, typicalEventBody } from "./lib/fixtures";
import { median, round } from "./lib/stats";

const ROUNDS = 15;
const OPS_PER_ROUND = 2000;
const BETWEEN_PUTS = 1500;
const PHASES = ["read_json", "schema", "enrich", "size_guard"] as const;

export interface CpuCostResult {
  /** µs per event, median over rounds, warm. */
  validate_enrich_us: number;
  /** The same, each call right after a real put (cold caches). */
  validate_enrich_between_puts_us: number;
  /** Per phase, warm and between puts, µs. */
  phases_us: Record<(typeof PHASES)[number], { warm: number; between_puts: number }>;
}

export async function measureCpuCost(): Promise<CpuCostResult> {
  const restoreSink = setLogSink(() => {});
  const dynamo = await startDynalite();
  try {
    await dynamo.createTable(EVENTS_TABLE, BENCH_EVENTS_TABLE);
    const storesNothing = { putNew: async () => ({ created: true }) } as unknown as EventRepository;
    const handler = createIngestHandler({ repository: storesNothing, config: { eventsTable: BENCH_EVENTS_TABLE, ...INGEST_SETTINGS } });
    const body = typicalEventBody();
    const template = typicalRecord();
    const realPut = () => dynamo.doc.send(new PutCommand({ TableName: BENCH_EVENTS_TABLE, Item: { ...template, event_id: newEventId(Date.now()) } }));

    const perRound: number[] = [];
    for (let round_ = 0; round_ < ROUNDS + 1; round_++) {
      const events = Array.from({ length: OPS_PER_ROUND }, () => postEvent(body));
      const started = performance.now();
      for (const event of events) await handler(event);
      if (round_ > 0) perRound.push(((performance.now() - started) * 1000) / OPS_PER_ROUND); // round 0 warms up
    }

    const betweenPuts: number[] = [];
    for (let i = 0; i < BETWEEN_PUTS; i++) {
      const event = postEvent(body);
      await realPut();
      const started = performance.now();
      await handler(event);
      betweenPuts.push((performance.now() - started) * 1000);
    }

    const phases = {} as CpuCostResult["phases_us"];
    const warm = await phaseTimes(body, async () => {});
    const cold = await phaseTimes(body, realPut);
    for (const phase of PHASES) phases[phase] = { warm: round(warm[phase], 1), between_puts: round(cold[phase], 1) };

    return {
      validate_enrich_us: round(median(perRound), 1),
      validate_enrich_between_puts_us: round(median(betweenPuts), 1),
      phases_us: phases,
    };
  } finally {
    setLogSink(restoreSink);
    await dynamo.close();
  }
}

/** Median µs of each phase over many events, `before` running ahead of each. */
async function phaseTimes(body: string, before: () => Promise<unknown>): Promise<Record<(typeof PHASES)[number], number>> {
  const samples: Record<string, number[]> = Object.fromEntries(PHASES.map((p) => [p, []]));
  for (let i = 0; i < BETWEEN_PUTS; i++) {
    await before();
    let t = performance.now();
    const lap = (phase: (typeof PHASES)[number]) => {
      const now = performance.now();
      samples[phase]!.push((now - t) * 1000);
      t = now;
    };
    const document = readJson(body, { maxDepth: SINGLE_EVENT_MAX_DEPTH });
    lap("read_json");
    const input = EventInputSchema.safeParse(document);
    lap("schema");
    if (!input.success) throw new Error("the typical event does not pass the schema");
    const nowMs = Date.now();
    const record = buildEventRecord(input.data, { eventId: newEventId(nowMs), nowMs, receivedAtMs: nowMs, requestId: "bench", source: { api_key_id: "0123456789abcdef" }, statusIndexShards: INGEST_SETTINGS.statusIndexShards });
    lap("enrich");
    dynamoItemSize(record as unknown as Record<string, unknown>);
    lap("size_guard");
  }
  return Object.fromEntries(PHASES.map((p) => [p, median(samples[p]!)])) as Record<(typeof PHASES)[number], number>;
}
