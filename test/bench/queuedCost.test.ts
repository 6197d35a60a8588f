/** Queued mode's additions to the cost model (cost/queued.ts), with round numbers. */
import { expect } from "chai";
import { estimateCost, MB_PER_VCPU, type MeasuredInputs, type Workload } from "../../cost/model";
import { loadPrices, PRICE_KEYS, type Prices } from "../../cost/prices";
import { estimateQueuedCost, IDLE_POLLS_PER_MONTH, sqsPrice } from "../../cost/queued";

const MEASURED: MeasuredInputs = {
  typicalRequestBytes: 300,
  typicalStoredBytes: 600,
  ingestCpuMs: { single: 1, batch25: 10 },
  storageWaitMs: { single: 5, batch25: 10 },
  authorizerDurationMs: 2,
  ingestLogBytes: { single: 700, batch25: 700 },
  authorizerLogBytes: 200,
  accessLogBytes: 300,
  ingestMemoryMb: MB_PER_VCPU,
  authorizerMemoryMb: 256,
};
const UNIT_PRICES = Object.fromEntries(PRICE_KEYS.map((k) => [k, 1])) as Prices;
const WORKLOAD: Workload = { eventsPerMonth: 10_000_000, batchSize: 1, avgEventBytes: 300, retentionDays: 30, logRetentionDays: 14, apiKeys: 1, authorizerCacheTtlSeconds: 300 };
const line = (estimate: ReturnType<typeof estimateCost>, prefix: string) => estimate.lines.find((l) => l.component.startsWith(prefix));

describe("cost model: queued mode (npm run cost)", () => {
  it("adds a send per event, a receive and a delete per processor batch, and the idle polls, at the SQS price", () => {
    const queued = estimateQueuedCost(WORKLOAD, MEASURED, UNIT_PRICES, 1, { processorBatchSize: 10 });
    expect(line(queued, "SQS requests")!.quantity).to.equal(10_000_000 + 1_000_000 + IDLE_POLLS_PER_MONTH + 1_000_000);
    expect(line(queued, "Lambda processor")!.quantity).to.equal(1_000_000);
  });

  it("keeps every direct-mode line (the same writes, the same API requests) and costs more per event than direct", () => {
    const direct = estimateCost(WORKLOAD, MEASURED, UNIT_PRICES);
    const queued = estimateQueuedCost(WORKLOAD, MEASURED, UNIT_PRICES, 1);
    for (const l of direct.lines) expect(queued.lines).to.deep.include(l);
    expect(queued.ingest_usd_per_million_events).to.be.greaterThan(direct.ingest_usd_per_million_events);
    expect(queued.floor_usd).to.equal(direct.floor_usd);
  });

  it("sends a batch request's events as SendMessageBatch calls of 10", () => {
    const queued = estimateQueuedCost({ ...WORKLOAD, batchSize: 25 }, MEASURED, UNIT_PRICES, 1, { processorBatchSize: 10 });
    // 400,000 requests of 25 events, each sent as 3 calls (10 + 10 + 5).
    expect(line(queued, "SQS requests")!.quantity).to.equal(1_200_000 + 1_000_000 + IDLE_POLLS_PER_MONTH + 1_000_000);
  });

  it("charges one read per keyed event only when keys are sent", () => {
    expect(line(estimateQueuedCost(WORKLOAD, MEASURED, UNIT_PRICES, 1), "DynamoDB idempotency lookups")).to.equal(undefined);
    expect(line(estimateQueuedCost(WORKLOAD, MEASURED, UNIT_PRICES, 1, { keyedShare: 0.5 }), "DynamoDB idempotency lookups")!.quantity).to.equal(5_000_000);
  });

  it("reads the SQS price from cost/prices.json, with its source", () => {
    const { file } = loadPrices();
    expect(sqsPrice(file)).to.be.a("number").and.greaterThan(0);
    expect(() => sqsPrice({ ...file, prices: { ...file.prices, sqs_per_million_requests: undefined } as never })).to.throw(/has no sqs_per_million_requests/);
  });
});
