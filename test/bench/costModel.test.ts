/** The cost model's arithmetic (cost/model.ts), with round numbers instead of measurements. */
import { expect } from "chai";
import { estimateCost, ingestDurationMs, MB_PER_VCPU, memorySizes, storedItemBytes, writeUnitsPerEvent, type MeasuredInputs, type Workload } from "../../cost/model";
import { loadPrices, PRICE_KEYS, type Prices } from "../../cost/prices";

const MEASURED: MeasuredInputs = {
  typicalRequestBytes: 300,
  typicalStoredBytes: 600,
  ingestCpuMs: { single: 4, batch25: 52 },
  storageWaitMs: { single: 0, batch25: 0 },
  authorizerDurationMs: 2,
  ingestLogBytes: { single: 700, batch25: 700 },
  authorizerLogBytes: 200,
  accessLogBytes: 300,
  ingestMemoryMb: MB_PER_VCPU, // one full vCPU: durations equal the CPU figures
  authorizerMemoryMb: 256,
};
/** One dollar per million of everything, so dollars read as millions of units. */
const UNIT_PRICES = Object.fromEntries(PRICE_KEYS.map((k) => [k, 1])) as Prices;
const WORKLOAD: Workload = { eventsPerMonth: 10_000_000, batchSize: 1, avgEventBytes: 300, retentionDays: 30, logRetentionDays: 14, apiKeys: 1, authorizerCacheTtlSeconds: 300 };
const line = (estimate: ReturnType<typeof estimateCost>, prefix: string) => estimate.lines.find((l) => l.component.startsWith(prefix))!;

describe("cost model (npm run cost)", () => {
  it("writes each event twice, table and status index, one unit per started KB", () => {
    expect(writeUnitsPerEvent(1)).to.equal(2);
    expect(writeUnitsPerEvent(1024)).to.equal(2);
    expect(writeUnitsPerEvent(1025)).to.equal(4);
    expect(storedItemBytes(1000, MEASURED)).to.equal(1300);
  });

  it("charges the floor as the DynamoDB writes and the ratio as the ingest path over it", () => {
    const estimate = estimateCost(WORKLOAD, MEASURED, UNIT_PRICES);
    expect(estimate.floor_usd).to.equal(20); // 10 M events × 2 units at $1 per million
    expect(line(estimate, "DynamoDB writes").usd).to.equal(20);
    expect(estimate.floor_ratio).to.be.closeTo(estimate.ingest_usd / 20, 1e-12);
    expect(estimate.ingest_usd + estimate.retention_usd).to.be.closeTo(estimate.total_usd, 1e-9);
  });

  it("spreads per-request costs over the batch but not the writes", () => {
    const single = estimateCost(WORKLOAD, MEASURED, UNIT_PRICES);
    const batched = estimateCost({ ...WORKLOAD, batchSize: 25 }, MEASURED, UNIT_PRICES);
    expect(line(single, "API Gateway").quantity).to.equal(10_000_000);
    expect(line(batched, "API Gateway").quantity).to.equal(400_000);
    expect(line(batched, "Lambda ingest invocations").usd).to.equal(0.4);
    expect(line(batched, "DynamoDB writes").usd).to.equal(line(single, "DynamoDB writes").usd);
    expect(batched.floor_ratio).to.be.lessThan(single.floor_ratio);
  });

  it("meters API Gateway requests in 512 KB increments", () => {
    const estimate = estimateCost({ ...WORKLOAD, batchSize: 100, avgEventBytes: 6000 }, MEASURED, UNIT_PRICES);
    expect(line(estimate, "API Gateway").quantity).to.equal(2 * 100_000); // 600 KB requests count twice
  });

  it("bills Lambda duration in whole milliseconds, interpolating between the measured batch sizes", () => {
    expect(ingestDurationMs(1, MEASURED)).to.equal(4);
    expect(ingestDurationMs(13, MEASURED)).to.equal(28);
    const estimate = estimateCost({ ...WORKLOAD, batchSize: 13 }, MEASURED, UNIT_PRICES);
    const requests = Math.ceil(10_000_000 / 13);
    expect(line(estimate, "Lambda ingest duration").quantity).to.be.closeTo((requests * 28 * (MB_PER_VCPU / 1024)) / 1000, 1e-6);
  });

  it("stretches the CPU by the memory's vCPU share (1 at 1,769 MB, none gained above) but not the wait for DynamoDB", () => {
    const withWait = { ...MEASURED, storageWaitMs: { single: 5, batch25: 10 } };
    expect(ingestDurationMs(1, withWait, MB_PER_VCPU)).to.equal(4 + 5);
    expect(ingestDurationMs(1, withWait, MB_PER_VCPU / 2)).to.equal(8 + 5);
    expect(ingestDurationMs(1, withWait, 2 * MB_PER_VCPU)).to.equal(4 + 5);
    expect(ingestDurationMs(25, withWait, MB_PER_VCPU / 4)).to.equal(208 + 10);
  });

  it("compares memory sizes: CPU-bound GB-seconds do not depend on memory, waiting GB-seconds grow with it", () => {
    const cpuOnly = memorySizes({ ...WORKLOAD, batchSize: 25 }, { ...MEASURED, ingestCpuMs: { single: 1, batch25: 17.69 } }, UNIT_PRICES);
    // 17.69 ms on a vCPU: 244.5 ms at 128 MB … 17.69 at 1,769 MB; GB-s equal but for the 1 ms rounding.
    const usd = cpuOnly.map((m) => m.duration_usd_per_million_events);
    expect(Math.max(...usd) / Math.min(...usd)).to.be.below(1.06);
    const waiting = memorySizes({ ...WORKLOAD, batchSize: 25 }, { ...MEASURED, ingestCpuMs: { single: 0, batch25: 0 }, storageWaitMs: { single: 5, batch25: 10 } }, UNIT_PRICES);
    expect(waiting.map((m) => m.memory_mb)).to.deep.equal([128, 256, 512, 1024, MB_PER_VCPU]);
    for (let i = 1; i < waiting.length; i++) expect(waiting[i]!.duration_usd_per_million_events).to.be.greaterThan(waiting[i - 1]!.duration_usd_per_million_events);
  });

  it("invokes the authorizer once per key per cache TTL, and on every request without a cache", () => {
    const cached = estimateCost(WORKLOAD, MEASURED, UNIT_PRICES);
    expect(line(cached, "Lambda authorizer").quantity).to.equal(Math.ceil((30.4375 * 86_400) / 300));
    const uncached = estimateCost({ ...WORKLOAD, authorizerCacheTtlSeconds: 0 }, MEASURED, UNIT_PRICES);
    expect(line(uncached, "Lambda authorizer").quantity).to.equal(10_000_000);
  });

  it("keeps storage out of the ingest path and grows it with retention", () => {
    const month = estimateCost(WORKLOAD, MEASURED, UNIT_PRICES);
    const year = estimateCost({ ...WORKLOAD, retentionDays: 365 }, MEASURED, UNIT_PRICES);
    expect(year.ingest_usd).to.equal(month.ingest_usd);
    expect(line(year, "DynamoDB storage").usd / line(month, "DynamoDB storage").usd).to.be.closeTo(365 / 30, 1e-9);
  });

  it("reads cost/prices.json, where every price has a source URL and a date", () => {
    const { file } = loadPrices();
    for (const key of PRICE_KEYS) {
      expect(file.prices[key].source, key).to.match(/^https:\/\/aws\.amazon\.com\//);
      expect(file.prices[key].date, key).to.match(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});
