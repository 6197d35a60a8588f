/**
 * The client library against the local stack over real HTTP, in direct and queued mode: through a
 * fault-injecting TCP proxy (test/support/tcpFaultProxy.ts), through a storage outage (the soak's
 * fault switch: a DynamoDB proxy between the bundles and dynalite that throttles every write),
 * on close, and with per-item rejections in one batch. "Stored once" is counted in the events table.
 *
 * The fault run sends CLIENT_FAULT_EVENTS events per mode (default 2,000, which keeps each mode's
 * run well under a minute on a shared 2-core machine; the 10,000 runs with
 * CLIENT_FAULT_EVENTS=10000: on 2026-12-07, at load 17, it passed in 47 s direct and 185 s queued).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { EventClient, isAccepted, type EventClientOptions, type SendOutcome } from "../../client/src/index";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamoProxy";
import { captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { startTcpFaultProxy, type FaultAction, type TcpFaultProxy } from "../support/tcpFaultProxy";

const FAULT_EVENTS = Number(process.env.CLIENT_FAULT_EVENTS ?? 2000);
const WRITES = new Set(["PutItem", "BatchWriteItem", "UpdateItem", "TransactWriteItems"]);

/** Fast retries, a budget far beyond any fault the tests inject. */
const RETRYING: Partial<EventClientOptions> = { retryBaseDelayMs: 20, retryMaxDelayMs: 500, maxRetries: 50, maxRetryTime: 300_000, timeoutMs: 20_000 };

/** One in three requests meets a fault, each kind in turn. */
function faultSchedule(index: number): FaultAction {
  return (["forward", "drop-before", "forward", "forward", "drop-after", "forward", "forward", "503", "forward", "forward", "delay", "forward"] as const)[index % 12]!;
}

for (const mode of ["direct", "queued"] as const) {
  describe(`EventClient against the local stack (${mode} mode)`, function () {
    this.timeout(240_000);
    let stack: LocalStack;
    let key: string;
    let logs: HandlerLogs;
    let storageDown = false;
    let dynamoProxy: DynamoProxy | undefined;
    let faultProxy: TcpFaultProxy | undefined;
    let sqs: SQSClient | undefined;

    before(async () => {
      logs = captureHandlerLogs();
      stack = await startTestStack(tempDataDir(), {
        sqsPort: 0,
        ...(mode === "queued" ? { queueVisibilitySeconds: 3, settings: { ingestMode: "queued", queueMaxReceiveCount: 50 } } : {}),
        functionDynamoEndpoint: async (endpoint) => {
          dynamoProxy = await startDynamoProxy(endpoint, (request) => (storageDown && WRITES.has(request.operation) ? "throttle" : "forward"));
          return dynamoProxy.endpoint;
        },
      });
      key = fs.readFileSync(stack.keyFile, "utf8").trim();
      if (stack.queue) sqs = new SQSClient({ endpoint: stack.queue.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    });
    afterEach(async () => {
      storageDown = false;
      await faultProxy?.close();
      faultProxy = undefined;
    });
    after(async () => {
      sqs?.destroy();
      await stack?.close();
      await dynamoProxy?.close();
      logs.restore();
    });

    /** The idempotency keys of the stored events of one type (each test sends its own type). */
    async function storedKeys(eventType: string): Promise<string[]> {
      const doc = localDocumentClient(stack);
      const keys: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({
            TableName: stack.eventsTable,
            ConsistentRead: true,
            FilterExpression: "event_type = :t",
            ExpressionAttributeValues: { ":t": eventType },
            ProjectionExpression: "idempotency_key",
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) keys.push(String(item.idempotency_key));
        start = page.LastEvaluatedKey;
      } while (start);
      doc.destroy();
      return keys;
    }

    /** Direct mode: the table now. Queued mode: once the ingest queue is empty (polled, bounded). */
    async function settledKeys(eventType: string): Promise<string[]> {
      if (!stack.queue) return storedKeys(eventType);
      const deadline = Date.now() + 120_000;
      for (;;) {
        const { Attributes } = await sqs!.send(
          new GetQueueAttributesCommand({ QueueUrl: stack.queue.queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
        );
        if (Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible) === 0) return storedKeys(eventType);
        if (Date.now() > deadline) throw new Error(`the ingest queue did not drain: ${JSON.stringify(Attributes)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }

    function expectStoredOnce(stored: string[], sent: SendOutcome[]): void {
      const sentKeys = sent.map((o) => o.idempotencyKey).sort();
      expect(stored.length, "events stored").to.equal(sent.length);
      expect([...stored].sort()).to.deep.equal(sentKeys);
    }

    const accepted = mode === "direct" ? ["stored", "duplicate"] : ["queued", "duplicate"];

    it(`stores each of ${FAULT_EVENTS} events exactly once through dropped connections (before and after the server), delays and proxy 503s`, async () => {
      faultProxy = await startTcpFaultProxy(stack.url, faultSchedule, { delayMs: 300 });
      const client = new EventClient({ url: faultProxy.url, apiKey: key, ...RETRYING, maxBatchSize: 50, maxQueueSize: FAULT_EVENTS, flushIntervalMs: 20 });
      const eventType = `client.faults.${mode}`;
      const sends: Promise<SendOutcome>[] = [];
      for (let i = 0; i < FAULT_EVENTS; i++) sends.push(client.send(eventType, { i }));
      const outcomes = await Promise.all(sends);
      await client.close();

      const failures = outcomes.filter((o) => !isAccepted(o));
      expect(failures.slice(0, 3), "outcomes that are not accepted").to.deep.equal([]);
      for (const o of outcomes) expect(accepted).to.include(o.status);
      for (const fault of ["drop-before", "drop-after", "delay", "503"] as const) expect(faultProxy.counts[fault], fault).to.be.greaterThan(0);
      // A response lost after the server took the batch: the retry carried the same keys.
      expect(client.stats().retries).to.be.greaterThan(0);
      if (mode === "direct") expect(client.stats().duplicates, "duplicates answered to retries after lost responses").to.be.greaterThan(0);
      expectStoredOnce(await settledKeys(eventType), outcomes);
    });

    it("stores every event once after storage was down for a few seconds", async () => {
      const client = new EventClient({ url: stack.url, apiKey: key, ...RETRYING, maxBatchSize: 25, flushIntervalMs: 20 });
      const eventType = `client.outage.${mode}`;
      const refusedBefore = dynamoProxy!.log.filter((r) => r.action === "throttle").length;
      storageDown = true;
      const downSince = Date.now();
      const sends: Promise<SendOutcome>[] = [];
      for (let i = 0; i < 200; i++) sends.push(client.send(eventType, { i }));
      // Down for at least 4 s and until it has really refused writes (queued mode: the processor's).
      while (Date.now() - downSince < 4000 || dynamoProxy!.log.filter((r) => r.action === "throttle").length - refusedBefore < 3) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      storageDown = false;
      const outcomes = await Promise.all(sends);
      await client.close();

      for (const o of outcomes) expect(accepted, JSON.stringify(o)).to.include(o.status);
      if (mode === "direct") expect(client.stats().retries, "retries while storage was down").to.be.greaterThan(0);
      expectStoredOnce(await settledKeys(eventType), outcomes);
    });

    it("close() sends what was still queued, resolves once each has its outcome, and refuses later sends", async () => {
      const client = new EventClient({ url: stack.url, apiKey: key, ...RETRYING, flushIntervalMs: 3_600_000 });
      const eventType = `client.close.${mode}`;
      const sends: Promise<SendOutcome>[] = [];
      for (let i = 0; i < 130; i++) sends.push(client.send(eventType, { i }));
      // A full batch of 100 left at once; 30 wait for an interval that is an hour long.
      expect(client.stats().waiting).to.equal(30);
      await client.close();
      expect(client.stats()).to.include({ waiting: 0, inFlight: 0 });
      const outcomes = await Promise.all(sends);
      for (const o of outcomes) expect(accepted).to.include(o.status);

      const late = await client.send(eventType, { late: true });
      expect(late).to.include({ status: "failed", reason: "closed", attempts: 0 });
      expectStoredOnce(await settledKeys(eventType), outcomes);
    });

    it("gives each rejected item of a batch its own problem and stores the rest (a bad document is isolated by splitting)", async () => {
      const requests: number[] = [];
      const client = new EventClient({ url: stack.url, apiKey: key, ...RETRYING, flushIntervalMs: 3_600_000, hooks: { flush: (info) => requests.push(info.requests) } });
      const eventType = `client.rejections.${mode}`;
      const good = (i: number) => client.send(eventType, { i });
      const sends = [
        good(0),
        client.send("not a valid type!", { i: 1 }),
        good(2),
        client.send(eventType, { big: "x".repeat(70 * 1024) }), // over the 64 KB event limit
        good(4),
        client.send(eventType, { i: 5 }, { metadata: { nested: { no: 1 } } as unknown as Record<string, string> }),
        good(6),
        // A key the server refuses anywhere in a document: the whole batch gets 400, the client splits it.
        client.send(eventType, JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>),
        good(8),
      ];
      await client.flush();
      const outcomes = await Promise.all(sends);
      const problem = (i: number) => (outcomes[i]!.status === "rejected" ? (outcomes[i] as Extract<SendOutcome, { status: "rejected" }>).problem : undefined);

      expect(problem(1)).to.include({ status: 400, code: "validation_failed" });
      expect(problem(1)!.errors!.map((e) => e.pointer)).to.include("/event_type");
      expect(problem(3)).to.include({ status: 413, code: "payload_too_large" });
      expect(problem(5)).to.include({ status: 400, code: "validation_failed" });
      expect(problem(7)!.status).to.equal(400);
      for (const i of [0, 2, 4, 6, 8]) expect(accepted, JSON.stringify(outcomes[i])).to.include(outcomes[i]!.status);
      await client.close();
      expectStoredOnce(await settledKeys(eventType), [0, 2, 4, 6, 8].map((i) => outcomes[i]!));
    });
  });
}
