/**
 * The storage-outage scenario of queued mode, over HTTP against the local stack: DynamoDB refuses
 * every write (a fault-injecting proxy between the bundles and dynalite answers each PutItem,
 * BatchWriteItem and UpdateItem with ProvisionedThroughputExceededException) for `outageSeconds`
 * while clients post `events` events, each a new one. Then storage recovers.
 *
 * Holds when every client got 202 (no 5xx, nothing else), the proxy really refused writes, and
 * once the queue drains exactly `events` events are stored, one per accepted event_id, with an
 * empty dead-letter queue. `npm run soak` runs it at full size (1,000 events, 30 s, the default
 * queue settings); test/local/queued.test.ts runs a small one with a short visibility timeout.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../handlers/lib/store/store";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalStack } from "../local/stack";
import { startDynamoProxy, type DynamoProxy } from "../test/support/dynamoProxy";

const WRITES = new Set(["PutItem", "BatchWriteItem", "UpdateItem", "TransactWriteItems", "DeleteItem"]);

export interface OutageOptions {
  events: number;
  outageSeconds: number;
  /** Requests in flight at once. @default 16 */
  concurrency?: number;
  /** The ingest queue's visibility timeout; @default the stack's (6 × processor timeout + window) */
  queueVisibilitySeconds?: number;
  queueMaxReceiveCount?: number;
  /** How long to wait for the queue to drain after storage recovers. */
  settleSeconds: number;
  /** Progress lines (the soak prints them). */
  onProgress?: (line: string) => void;
}

export interface OutageReport {
  /** HTTP status → count, over every POST /events. */
  statuses: Record<string, number>;
  accepted: number;
  /** Writes the proxy refused during the outage. */
  refusedWrites: number;
  stored: number;
  /** Accepted event ids that are not stored exactly once. */
  missing: number;
  duplicatesStored: number;
  deadLetters: number;
  drainSeconds: number;
  ok: boolean;
}

export async function runStorageOutage(options: OutageOptions): Promise<OutageReport> {
  const progress = options.onProgress ?? (() => {});
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-outage-"));
  let outage = false;
  let proxy: DynamoProxy | undefined;
  const stack = await startLocalStack({
    dataDir,
    port: 0,
    dynamoPort: 0,
    sqsPort: 0,
    settings: { ingestMode: "queued", ...(options.queueMaxReceiveCount === undefined ? {} : { queueMaxReceiveCount: options.queueMaxReceiveCount }) },
    ...(options.queueVisibilitySeconds === undefined ? {} : { queueVisibilitySeconds: options.queueVisibilitySeconds }),
    functionDynamoEndpoint: async (endpoint) => {
      proxy = await startDynamoProxy(endpoint, (request) => (outage && WRITES.has(request.operation) ? "throttle" : "forward"));
      return proxy.endpoint;
    },
  });
  const doc = createDocumentClient({ endpoint: stack.dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const sqs = new SQSClient({ endpoint: stack.queue!.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const key = fs.readFileSync(stack.keyFile, "utf8").trim();
    const statuses: Record<string, number> = {};
    const acceptedIds: string[] = [];

    outage = true;
    const outageEnds = Date.now() + options.outageSeconds * 1000;
    progress(`storage refuses every write for ${options.outageSeconds} s; posting ${options.events} events`);
    // Spread the posts over the outage (all of them inside it), bounded in concurrency.
    const spacingMs = Math.max(0, (options.outageSeconds * 1000 * 0.8) / options.events);
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= options.events) return;
        const due = started + i * spacingMs;
        if (due > Date.now()) await sleep(due - Date.now());
        const response = await fetch(`${stack.url}/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ event_type: "outage.test", payload: { i, precise: 12345678901234567890.5 } }),
        });
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const body = (await response.json()) as { event_id?: string };
        if (response.status === 202 && body.event_id) acceptedIds.push(body.event_id);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
    progress(`posted: ${JSON.stringify(statuses)}; ${proxy!.count("PutItem", "throttle")} writes refused so far`);
    if (Date.now() < outageEnds) await sleep(outageEnds - Date.now());
    outage = false;
    const refusedWrites = [...WRITES].reduce((sum, op) => sum + proxy!.count(op, "throttle"), 0);
    progress(`storage is back (${refusedWrites} writes refused); waiting for the queue to drain`);

    const recovered = Date.now();
    const deadline = recovered + options.settleSeconds * 1000;
    let items: Record<string, unknown>[] = [];
    let queueEmpty = false;
    while (Date.now() < deadline) {
      items = await scanAll(doc, stack.eventsTable);
      queueEmpty = (await depth(sqs, stack.queue!.queueUrl)) === 0;
      if (items.length >= acceptedIds.length && queueEmpty) break;
      await sleep(1000);
    }
    const drainSeconds = (Date.now() - recovered) / 1000;
    const counts = new Map<string, number>();
    for (const item of items) counts.set(String(item.event_id), (counts.get(String(item.event_id)) ?? 0) + 1);
    const missing = acceptedIds.filter((id) => counts.get(id) !== 1).length;
    const deadLetters = await depth(sqs, stack.queue!.deadLetterQueueUrl);
    const report: OutageReport = {
      statuses,
      accepted: acceptedIds.length,
      refusedWrites,
      stored: items.length,
      missing,
      duplicatesStored: [...counts.values()].filter((n) => n > 1).length,
      deadLetters,
      drainSeconds,
      ok: false,
    };
    report.ok =
      statuses["202"] === options.events &&
      Object.keys(statuses).length === 1 &&
      refusedWrites > 0 &&
      report.stored === options.events &&
      missing === 0 &&
      deadLetters === 0;
    return report;
  } finally {
    doc.destroy();
    sqs.destroy();
    await stack.close();
    await proxy?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function scanAll(doc: ReturnType<typeof createDocumentClient>, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true, ProjectionExpression: "event_id", ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
