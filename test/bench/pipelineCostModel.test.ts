/** The SNS pipeline's cost arithmetic (cost/pipelineModel.ts), with round numbers instead of measurements. */
import { expect } from "chai";
import { estimatePipelineCost, TASK_OVERHEAD_MS, type PipelineMeasuredInputs } from "../../cost/pipelineModel";
import { PRICE_KEYS, loadPrices, type Prices } from "../../cost/prices";

/** One dollar per million of everything, so dollars read as millions of units. */
const UNIT_PRICES = Object.fromEntries(PRICE_KEYS.map((k) => [k, 1])) as Prices;
const MEASURED: PipelineMeasuredInputs = {
  messageBytes: 300,
  envelopeBytes: 900,
  storedItemBytes: 700,
  functions: [
    { name: "Validate", durationMs: 1.2, memoryMb: 256 },
    { name: "fee", durationMs: 0.3, memoryMb: 128 },
    { name: "Store", durationMs: 9.5, memoryMb: 256 },
  ],
  logBytesPerEvent: 250,
  stateTransitionsPerEvent: 4,
};
const line = (estimate: ReturnType<typeof estimatePipelineCost>, prefix: string) => estimate.lines.find((l) => l.component.startsWith(prefix))!;

describe("SNS pipeline cost model (npm run cost)", () => {
  it("bills one publish, three SQS requests, one pipe request, one execution and a Lambda invocation per function for each small event", () => {
    const estimate = estimatePipelineCost(10_000_000, MEASURED, UNIT_PRICES);
    expect(line(estimate, "SNS publishes").quantity).to.equal(10_000_000);
    expect(line(estimate, "SQS buffer").quantity).to.equal(30_000_000);
    expect(line(estimate, "EventBridge Pipes").quantity).to.equal(10_000_000);
    expect(line(estimate, "Step Functions Express executions").quantity).to.equal(10_000_000);
    expect(line(estimate, "Lambda invocations").quantity).to.equal(30_000_000);
    expect(line(estimate, "DynamoDB writes").quantity).to.equal(20_000_000);
  });

  it("meters messages in 64 KB chunks", () => {
    const large = estimatePipelineCost(1_000_000, { ...MEASURED, messageBytes: 64 * 1024 + 1, envelopeBytes: 2 * 64 * 1024 + 1 }, UNIT_PRICES);
    expect(line(large, "SNS publishes").quantity).to.equal(2_000_000);
    expect(line(large, "SQS buffer").quantity).to.equal(9_000_000);
    expect(line(large, "EventBridge Pipes").quantity).to.equal(3_000_000);
  });

  it("bills Express duration in whole 100 ms steps of 64 MB, the functions' time plus the assumed invoke overhead per task", () => {
    const estimate = estimatePipelineCost(1_000_000, MEASURED, UNIT_PRICES);
    // 11 ms of functions + 3 × 25 ms overhead = 86 ms → 100 ms.
    expect(TASK_OVERHEAD_MS).to.equal(25);
    expect(estimate.billed_execution_ms).to.equal(100);
    expect(line(estimate, "Step Functions Express duration").quantity).to.be.closeTo((1_000_000 * 0.1 * 64) / 1024, 1e-6);
    const slow = estimatePipelineCost(1_000_000, { ...MEASURED, functions: [...MEASURED.functions, { name: "slow", durationMs: 40, memoryMb: 128 }] }, UNIT_PRICES);
    expect(slow.billed_execution_ms).to.equal(200);
  });

  it("bills each function's duration rounded up to the millisecond at its own memory", () => {
    const estimate = estimatePipelineCost(1_000_000, MEASURED, UNIT_PRICES);
    // 2 ms × 256 MB + 1 ms × 128 MB + 10 ms × 256 MB per event.
    expect(line(estimate, "Lambda duration").quantity).to.be.closeTo((1_000_000 * (2 * 256 + 1 * 128 + 10 * 256)) / 1024 / 1000, 1e-6);
  });

  it("totals its lines, and prices Standard transitions only for comparison", () => {
    const estimate = estimatePipelineCost(2_000_000, MEASURED, UNIT_PRICES);
    expect(estimate.usd).to.be.closeTo(estimate.lines.reduce((s, l) => s + l.usd, 0), 1e-9);
    expect(estimate.usd_per_million_events).to.be.closeTo(estimate.usd / 2, 1e-9);
    expect(estimate.standard_workflow_usd_per_million_events).to.equal(4);
    expect(estimate.lines.map((l) => l.component).join(" ")).not.to.include("Standard");
  });

  it("has a sourced, dated price in cost/prices.json for every pipeline component", () => {
    const { file } = loadPrices();
    for (const key of ["sns_per_million_publishes", "sqs_per_million_requests", "eventbridge_pipes_per_million_requests", "step_functions_express_per_million_requests", "step_functions_express_per_gb_second"] as const) {
      expect(file.prices[key].source, key).to.match(/^https:\/\/aws\.amazon\.com\//);
    }
  });
});
