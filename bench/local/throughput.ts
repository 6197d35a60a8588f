/**
 * Peer (c): throughput of the local stack over loopback (autocannon, fixed duration) for single
 * events and 25-event batches, against raw PutItem throughput of dynalite run the same way. Each
 * server is its own process, the load generator is this one; the three loads alternate in rounds.
 */
import * as path from "node:path";
import autocannon from "autocannon";
import { marshall } from "@aws-sdk/util-dynamodb";
import { typicalRecord } from "../itemSize";
import { batchBody, BATCH_SIZE, typicalEventBody } from "../lib/fixtures";
import { startChildServer } from "../lib/child";
import { ratio } from "../lib/stats";
import type { DynaliteServerInfo } from "./dynaliteServer";
import type { StackServerInfo } from "./stackServer";

const ROUNDS = 2;
const DURATION_S = 5;
const WARMUP_S = 1;
const CONNECTIONS = 8;
const DRAIN_MS = 1000;

export interface LocalThroughputResult {
  throughput_single_rps: number;
  throughput_batch25_events_per_s: number;
  throughput_batch25_rps: number;
  raw_put_rps: number;
  single_vs_raw_ratio: number;
  batch25_events_vs_raw_ratio: number;
  connections: number;
  seconds_per_load: number;
}

interface Load {
  ok: number;
  seconds: number;
}

async function load(options: autocannon.Options): Promise<Load> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, warmup: { connections: CONNECTIONS, duration: WARMUP_S }, ...options });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) throw new Error(`${options.url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return { ok: result["2xx"], seconds: result.duration };
}

/** A signed-looking PutItem of the typical item (dynalite checks the header's shape, not the signature). */
function rawPutRequest(info: DynaliteServerInfo): autocannon.Options {
  const item = JSON.stringify({ TableName: info.table, Item: marshall(typicalRecord(), { removeUndefinedValues: true }) });
  const idPlaceholder = /"event_id":\{"S":"evt_[0-9A-Z]{26}"\}/;
  let sequence = 0;
  return {
    url: info.endpoint,
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": "DynamoDB_20120810.PutItem",
      "x-amz-date": "20260101T000000Z",
      authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/eu-north-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
    },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: item.replace(idPlaceholder, `"event_id":{"S":"evt_${String(++sequence).padStart(26, "0")}"}`),
        }),
      },
    ],
  };
}

function ingestRequest(info: StackServerInfo, route: string, body: string): autocannon.Options {
  return {
    url: info.url + route,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${info.apiKey}` },
    body,
  };
}

export async function measureLocalThroughput(): Promise<LocalThroughputResult> {
  const dynalite = await startChildServer<DynaliteServerInfo>(path.join(__dirname, "dynaliteServer.ts"));
  const stack = await startChildServer<StackServerInfo>(path.join(__dirname, "stackServer.ts"));
  try {
    const loads = {
      raw: rawPutRequest(dynalite.info),
      single: ingestRequest(stack.info, "/events", typicalEventBody()),
      batch: ingestRequest(stack.info, "/events/batch", batchBody(BATCH_SIZE)),
    };
    const totals = { raw: { ok: 0, seconds: 0 }, single: { ok: 0, seconds: 0 }, batch: { ok: 0, seconds: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ["raw", "single", "batch"] as const) {
        const { ok, seconds } = await load(loads[name]);
        totals[name].ok += ok;
        totals[name].seconds += seconds;
      }
    }
    const perSecond = (t: Load) => t.ok / t.seconds;
    const raw = perSecond(totals.raw);
    const single = perSecond(totals.single);
    const batchEvents = perSecond(totals.batch) * BATCH_SIZE;
    return {
      throughput_single_rps: Math.round(single),
      throughput_batch25_events_per_s: Math.round(batchEvents),
      throughput_batch25_rps: Math.round(perSecond(totals.batch)),
      raw_put_rps: Math.round(raw),
      single_vs_raw_ratio: ratio(single, raw),
      batch25_events_vs_raw_ratio: ratio(batchEvents, raw),
      connections: CONNECTIONS,
      seconds_per_load: ROUNDS * DURATION_S,
    };
  } finally {
    // autocannon stops waiting at the deadline, not the servers: let in-flight requests finish first.
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    await Promise.all([dynalite.stop(), stack.stop()]);
  }
}
