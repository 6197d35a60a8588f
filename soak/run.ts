/**
 * `npm run soak`: the long checks that are not part of `npm test`.
 *
 * 1. Load: the local stack (gateway emulator, deploy bundles, dynalite on disk) on loopback under
 *    autocannon for SOAK_SECONDS (60), at most SOAK_RATE requests per second (1000) over
 *    SOAK_CONNECTIONS (16) connections: bounded in time and in count. Every request is a new event.
 *    Passes when no request errors or times out, every response is 201, the stored events are
 *    exactly the 2xx responses the gateway sent (one each, payload intact), and every handler run
 *    logged one request line.
 * 2. Fuzz: test/attack/fuzz.test.ts with FUZZ_RUNS bodies (100,000).
 * 3. Storage outage in queued mode (soak/storageOutage.ts): DynamoDB refuses every write for
 *    OUTAGE_SECONDS (30) while clients post OUTAGE_EVENTS (1,000) events, with the stack's default
 *    queue settings (visibility 181 s, 3 receives), so the retries are SQS's own. Passes when every
 *    client got 202, none a 5xx, and exactly that many events are stored once storage recovers.
 *
 * Exits 1 when anything fails.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { PROJECT_ROOT } from "../components/bundle";
import { createDocumentClient } from "../handlers/lib/store/store";
import type { RequestLogEntry } from "../local/gateway";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalStack } from "../local/stack";
import { runStorageOutage } from "./storageOutage";
import { parseCommandLineOrExit } from "../cli/commandLine";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // see local/dev.ts

const SECONDS = positive("SOAK_SECONDS", 60);
const RATE = positive("SOAK_RATE", 1000);
const CONNECTIONS = positive("SOAK_CONNECTIONS", 16);
const FUZZ_RUNS = positive("FUZZ_RUNS", 100_000);

/** The part of autocannon 8's API used here (it ships no types). */
interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (request: LoadRequest) => LoadRequest;
}
interface LoadResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; max: number };
  requests: { average: number };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon") as (options: {
  url: string;
  connections: number;
  duration: number;
  overallRate: number;
  timeout: number;
  requests: LoadRequest[];
}) => Promise<LoadResult>;

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return value;
}

/** The payload of load request `n`: what its stored event must hold. */
function payloadOf(n: number) {
  return { n, text: `soak event ${n} – grüße 🚀`, big: "12345678901234567890", nested: { list: [n, -n, n / 8] } };
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function load(): Promise<Check[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-soak-"));
  const gatewayStatuses = new Map<number, number>();
  let handlerLines = 0;
  let handlerErrors = 0;
  // The bundles log one JSON line per request: count them instead of printing tens of thousands.
  const write = process.stdout.write;
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
    if (!text.startsWith('{"timestamp":')) return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    for (const line of text.split("\n").filter(Boolean)) {
      const entry = JSON.parse(line) as { message?: string; status?: number };
      if (entry.message === "request") handlerLines++;
      if ((entry.status ?? 0) >= 500) handlerErrors++;
    }
    (rest.find((r) => typeof r === "function") as (() => void) | undefined)?.();
    return true;
  } as typeof process.stdout.write;

  const stack = await startLocalStack({
    dataDir,
    port: 0,
    dynamoPort: 0,
    onRequest: (entry: RequestLogEntry) => gatewayStatuses.set(entry.status, (gatewayStatuses.get(entry.status) ?? 0) + 1),
  });
  const doc = createDocumentClient({ endpoint: stack.dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const url = new URL(stack.url);
    if (url.hostname !== "127.0.0.1") throw new Error(`the soak runs on loopback only, not ${url.hostname}`);
    const key = stack.createdApiKey!;
    let sequence = 0;
    const rssBefore = process.memoryUsage().rss;
    console.log(`load: ${SECONDS} s, ≤ ${RATE} req/s, ${CONNECTIONS} connections → POST ${stack.url}/events`);
    const result = await autocannon({
      url: stack.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      overallRate: RATE,
      timeout: 10,
      requests: [
        {
          method: "POST",
          path: "/events",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          setupRequest: (request) => {
            const n = ++sequence;
            // Every other request carries an Idempotency-Key (its own): still one new event each.
            const headers = n % 2 === 0 ? { ...request.headers, "idempotency-key": `soak-${n}` } : request.headers;
            return { ...request, headers, body: JSON.stringify({ event_type: "soak.load", payload: payloadOf(n) }) };
          },
        },
      ],
    });

    // autocannon drops the requests still in flight when time is up; the gateway finishes them.
    for (let settled = -1; settled !== [...gatewayStatuses.values()].reduce((a, b) => a + b, 0); ) {
      settled = [...gatewayStatuses.values()].reduce((a, b) => a + b, 0);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const gatewayTotal = [...gatewayStatuses.values()].reduce((a, b) => a + b, 0);
    const gateway2xx = [...gatewayStatuses].filter(([status]) => status >= 200 && status < 300).reduce((sum, [, count]) => sum + count, 0);

    const stored: { n: number; payload: unknown }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: stack.eventsTable, ConsistentRead: true, ProjectionExpression: "payload", ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
      for (const item of page.Items ?? []) stored.push({ n: (item.payload as { n: number }).n, payload: item.payload });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const distinct = new Set(stored.map((s) => s.n));
    const altered = stored.filter((s) => !isDeepStrictEqual(s.payload, payloadOf(s.n))).length;
    const rssAfter = process.memoryUsage().rss;

    const client2xx = result["2xx"];
    const inFlightAtStop = gatewayTotal - (client2xx + result.non2xx);
    console.log(
      `load: ${client2xx} × 2xx seen by autocannon in ${result.duration} s (${Math.round(result.requests.average)} req/s; latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms); ` +
        `gateway answered ${gatewayTotal} (${JSON.stringify(Object.fromEntries(gatewayStatuses))}), ${inFlightAtStop} of them after autocannon stopped; ` +
        `${stored.length} events stored; RSS ${Math.round(rssBefore / 1e6)} → ${Math.round(rssAfter / 1e6)} MB`,
    );
    return [
      { name: "no connection errors or timeouts", ok: result.errors === 0 && result.timeouts === 0, detail: `errors ${result.errors}, timeouts ${result.timeouts}` },
      { name: "every response seen by the client is 2xx", ok: result.non2xx === 0 && client2xx > 0, detail: `2xx ${client2xx}, non-2xx ${result.non2xx}` },
      { name: "every response the gateway sent is 2xx", ok: gateway2xx === gatewayTotal, detail: JSON.stringify(Object.fromEntries(gatewayStatuses)) },
      { name: "stored events = 2xx responses", ok: stored.length === gateway2xx, detail: `stored ${stored.length}, 2xx ${gateway2xx}` },
      { name: "the client saw every 2xx but those in flight when it stopped", ok: inFlightAtStop >= 0 && inFlightAtStop <= CONNECTIONS, detail: `${inFlightAtStop} in flight (≤ ${CONNECTIONS} connections)` },
      { name: "each event stored once, payload exactly as sent", ok: distinct.size === stored.length && altered === 0, detail: `${distinct.size} distinct of ${stored.length}, ${altered} altered` },
      { name: "one request log line per handler run, no 5xx logged", ok: handlerLines === gatewayTotal && handlerErrors === 0, detail: `${handlerLines} lines for ${gatewayTotal} requests, ${handlerErrors} with a 5xx` },
      { name: "bounded: at most SOAK_RATE × SOAK_SECONDS requests", ok: gatewayTotal <= RATE * (SECONDS + 1), detail: `${gatewayTotal} ≤ ${RATE * (SECONDS + 1)}` },
    ];
  } finally {
    doc.destroy();
    await stack.close();
    process.stdout.write = write;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function fuzz(): Check[] {
  console.log(`fuzz: ${FUZZ_RUNS.toLocaleString("en")} generated bodies (test/attack/fuzz.test.ts)`);
  const result = spawnSync(
    process.execPath,
    [require.resolve("mocha/bin/mocha.js"), "--no-config", "--require", "tsx/cjs", "--require", "test/support/setup.ts", "--extension", "ts", "--timeout", "0", "test/attack/fuzz.test.ts"],
    { cwd: PROJECT_ROOT, env: { ...process.env, FUZZ_RUNS: String(FUZZ_RUNS) }, stdio: "inherit" },
  );
  return [{ name: `fuzzer with ${FUZZ_RUNS} bodies`, ok: result.status === 0, detail: `mocha exit ${result.status}` }];
}

async function outage(): Promise<Check[]> {
  const events = positive("OUTAGE_EVENTS", 1000);
  const outageSeconds = positive("OUTAGE_SECONDS", 30);
  console.log(`outage: queued mode, storage refuses every write for ${outageSeconds} s while clients post ${events} events`);
  const write = process.stdout.write;
  // The bundles' JSON log lines (thousands of retries) would drown the report.
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === "string" && chunk.startsWith('{"timestamp":')) return true;
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  try {
    const report = await runStorageOutage({ events, outageSeconds, settleSeconds: 600, onProgress: (line) => console.log(`  ${line}`) });
    return [
      { name: "outage: every client got 202, none a 5xx", ok: report.statuses["202"] === events && Object.keys(report.statuses).length === 1, detail: JSON.stringify(report.statuses) },
      { name: "outage: storage really refused writes", ok: report.refusedWrites > 0, detail: `${report.refusedWrites} writes refused` },
      {
        name: `outage: exactly ${events} events stored once storage recovered`,
        ok: report.stored === events && report.missing === 0 && report.duplicatesStored === 0 && report.deadLetters === 0,
        detail: `${report.stored} stored, ${report.missing} missing, ${report.deadLetters} in the DLQ, drained ${report.drainSeconds.toFixed(0)} s after recovery`,
      },
    ];
  } finally {
    process.stdout.write = write;
  }
}

const USAGE = `usage: npm run soak [-- --help]

Runs the long checks that are not part of npm test: load, fuzz, storage outage (several minutes).
Settings are environment variables:
  SOAK_SECONDS (60), SOAK_RATE (1000), SOAK_CONNECTIONS (16)   the load check
  FUZZ_RUNS (100000)                                           the fuzz check
  OUTAGE_SECONDS (30), OUTAGE_EVENTS (1000)                    the storage-outage check
  SOAK_ONLY=load|fuzz|outage                                   run one check`;

/**
 * Ctrl-C or SIGTERM mid-soak: the stacks' temp DATA_DIRs (tens of MB, with this process's lock)
 * are removed before exiting, instead of being left behind with a stale lock.
 */
function removeOwnTempDirsOnSignal(): void {
  const cleanUp = (signal: NodeJS.Signals) => {
    for (const name of fs.readdirSync(os.tmpdir())) {
      if (!/^event-ingestion-(soak|outage)-/.test(name)) continue;
      const dir = path.join(os.tmpdir(), name);
      const lock = path.join(dir, ".lock");
      const owner = fs.existsSync(lock) ? Number(fs.readFileSync(lock, "utf8")) : undefined;
      if (owner === process.pid) fs.rmSync(dir, { recursive: true, force: true });
    }
    process.stderr.write(`\nsoak: ${signal}, stopped; temp data removed\n`);
    process.exit(130);
  };
  process.once("SIGINT", cleanUp);
  process.once("SIGTERM", cleanUp);
}

async function main(): Promise<void> {
  parseCommandLineOrExit("soak", process.argv.slice(2), {}, USAGE);
  removeOwnTempDirsOnSignal();
  const only = process.env.SOAK_ONLY; // load | fuzz | outage
  const checks = [
    ...(only === undefined || only === "load" ? await load() : []),
    ...(only === undefined || only === "fuzz" ? fuzz() : []),
    ...(only === undefined || only === "outage" ? await outage() : []),
  ];
  console.log("\nsoak results");
  for (const check of checks) console.log(`  ${check.ok ? "✔" : "✘"} ${check.name}: ${check.detail}`);
  process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
