/**
 * Where a single event's CPU goes: the ingest handler's steps, run one after another from the
 * library modules in the handler's order, each timed in process CPU (µs, mean over many events,
 * so waiting for the endpoint's answer does not count), against the instant endpoint. Runs inside the floor runner (stdout ignored, so the log lines cost what a
 * write to a pipe costs). The sum is close to, not equal to, the handler's own CPU: the envelope
 * and scheduling between steps are not in any step.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { json } from "../../handlers/lib/http/http";
import { newEventId } from "../../handlers/lib/primitives/ids";
import { readJson } from "../../handlers/lib/primitives/json";
import { log } from "../../handlers/lib/ops/log";
import { newIngestTally, writeIngestMetrics } from "../../handlers/lib/ops/metrics";
import { buildEventRecord, dynamoItemSize, requestFingerprint } from "../../handlers/lib/events/record";
import { EventInputSchema } from "../../handlers/lib/events/schema";
import { createDocumentClient } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { INGEST_SETTINGS, SINGLE_EVENT_MAX_DEPTH, typicalEventBody } from "../lib/fixtures";
import { round } from "../lib/stats";

export const OUR_STEPS = ["read_json", "schema", "fingerprint", "enrich", "size_guard", "marshall", "sdk_put", "response", "log_line", "emf_metrics"] as const;
export const FLOOR_STEPS = ["json_parse", "sdk_put"] as const;
export interface SinglePathProfile {
  ours_us: Record<(typeof OUR_STEPS)[number], number>;
  floor_us: Record<(typeof FLOOR_STEPS)[number], number>;
}

export async function profileSinglePath(iterations: number): Promise<SinglePathProfile> {
  const table = process.env.EVENTS_TABLE_NAME!;
  const ours = createDocumentClient();
  const floor = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const body = typicalEventBody();
  const samples: Record<string, number[]> = {};
  const condition = { ConditionExpression: "attribute_not_exists(#id)", ExpressionAttributeNames: { "#id": EVENTS_TABLE.partitionKey.name } };

  const cpuUs = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  for (let i = 0; i < iterations; i++) {
    let t = cpuUs();
    const lap = (step: string) => {
      const now = cpuUs();
      (samples[step] ??= []).push(now - t);
      t = now;
    };
    const document = readJson(body, { maxDepth: SINGLE_EVENT_MAX_DEPTH });
    lap("read_json");
    const input = EventInputSchema.safeParse(document);
    lap("schema");
    if (!input.success) throw new Error("the typical event does not pass the schema");
    requestFingerprint(input.data);
    lap("fingerprint");
    const nowMs = Date.now();
    const record = buildEventRecord(input.data, { eventId: newEventId(nowMs), nowMs, receivedAtMs: nowMs, requestId: "bench", source: { api_key_id: "0123456789abcdef" }, statusIndexShards: INGEST_SETTINGS.statusIndexShards });
    lap("enrich"); // includes the fingerprint again: "enrich" minus "fingerprint" is the rest
    dynamoItemSize(record as unknown as Record<string, unknown>);
    lap("size_guard");
    marshall(record, { removeUndefinedValues: true, allowImpreciseNumbers: true });
    lap("marshall");
    await ours.send(new PutCommand({ TableName: table, Item: record, ...condition }));
    lap("sdk_put"); // includes marshalling again
    json(201, { event_id: record.event_id, status: record.status, created_at: record.created_at, delivered_at: null, request_id: "bench" }, { location: `/events/${record.event_id}` });
    lap("response");
    log("INFO", "request", { request_id: "bench", route: "POST /events", status: 201, duration_ms: 1.234, cold_start: false, key_id: "0123456789abcdef", event_id: record.event_id, event_type: record.event_type });
    lap("log_line");
    writeIngestMetrics({ ...newIngestTally(), accepted: 1 });
    lap("emf_metrics");

    const parsed = JSON.parse(body) as Record<string, unknown>;
    lap("floor_json_parse");
    await floor.send(new PutCommand({ TableName: table, Item: { event_id: randomUUID(), ...parsed } }));
    lap("floor_sdk_put");
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const med = (step: string) => round(mean(samples[step]!.slice(Math.floor(iterations / 5))), 1); // first fifth warms up
  return {
    ours_us: Object.fromEntries(OUR_STEPS.map((s) => [s, med(s)])) as SinglePathProfile["ours_us"],
    floor_us: Object.fromEntries(FLOOR_STEPS.map((s) => [s, med(`floor_${s}`)])) as SinglePathProfile["floor_us"],
  };
}
