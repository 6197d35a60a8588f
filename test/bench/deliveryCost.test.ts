/** The delivery engines' cost model (cost/delivery.ts, docs/adr/0033), with round numbers. */
import { expect } from "chai";
import { compareDeliveryEngines, estimateDeliveryCost, renderDeliveryCost, type DeliveryWorkload } from "../../cost/delivery";
import { loadPrices, PRICE_KEYS, type Prices } from "../../cost/prices";
import { IDLE_POLLS_PER_MONTH } from "../../cost/queued";

/** One dollar per million of everything, so dollars read as millions of units. */
const UNIT_PRICES = Object.fromEntries(PRICE_KEYS.map((k) => [k, 1])) as Prices;
const WORKLOAD: DeliveryWorkload = {
  eventsPerMonth: 1_000_000,
  deliveriesPerEvent: 2,
  attemptsPerDelivery: 1.5,
  receiverMs: 185,
  eventBytes: 600,
  subscriptions: 3,
  delivererMemoryMb: 1024,
};
const line = (estimate: ReturnType<typeof estimateDeliveryCost>, prefix: string) => estimate.lines.find((l) => l.component.startsWith(prefix));

describe("cost model: delivery engines (npm run cost)", () => {
  it("SQS: a send and a delete per delivery, a receive per attempt, a visibility change per retry", () => {
    const sqs = estimateDeliveryCost("sqs-lambda", WORKLOAD, UNIT_PRICES);
    // 2 M deliveries, 3 M attempts: 2 M sends + 3 M receives + 1 M visibility changes + 2 M deletes.
    expect(line(sqs, "SQS requests")!.quantity).to.equal(8_000_000);
    expect(line(sqs, "Lambda deliverer")!.quantity).to.equal(3_000_000);
    // 3 M invocations at $1 per million, and 3 M attempts × 0.205 s (185 + 20 ms) × 1 GB = 615,000 GB-s at $1 each.
    expect(line(sqs, "Lambda deliverer")!.usd).to.be.closeTo(3 + 615_000, 1e-6);
    expect(sqs.fixed_usd_per_month).to.be.closeTo((3 * IDLE_POLLS_PER_MONTH) / 1e6, 1e-9);
  });

  it("charges each attempt its state update, the event's delivery fields and its log record, and each delivery one status-index rewrite", () => {
    const sqs = estimateDeliveryCost("sqs-lambda", WORKLOAD, UNIT_PRICES);
    // 3 M attempts × (1 unit for the state item + 1 for the 600-byte event + 2 for the 1.4 KB record) + 2 M deliveries × 2 index units.
    expect(line(sqs, "DynamoDB writes")!.quantity).to.equal(3_000_000 * 4 + 2_000_000 * 2);
    const big = estimateDeliveryCost("sqs-lambda", { ...WORKLOAD, eventBytes: 3000 }, UNIT_PRICES);
    expect(line(big, "DynamoDB writes")!.quantity).to.equal(3_000_000 * (1 + 3 + 2) + 2_000_000 * 2 * 3);
  });

  it("charges each attempt a consistent read of the state item and the event, and each delivery of a shared event the states Query", () => {
    const sqs = estimateDeliveryCost("sqs-lambda", WORKLOAD, UNIT_PRICES);
    // 3 M attempts × (1 + 1 read units) + 2 M successful deliveries × 1 unit (two small states) for the Query.
    expect(line(sqs, "DynamoDB reads")!.quantity).to.equal(3_000_000 * 2 + 2_000_000);
    const sole = estimateDeliveryCost("sqs-lambda", { ...WORKLOAD, deliveriesPerEvent: 1, eventBytes: 5000 }, UNIT_PRICES);
    // One subscription: no Query; a 5 KB event is two read units per consistent read.
    expect(line(sole, "DynamoDB reads")!.quantity).to.equal(1_500_000 * (1 + 2));
  });

  it("EventBridge: one custom event per stored event and one API-destination invocation per attempt, and no signing", () => {
    const eb = estimateDeliveryCost("eventbridge-api-destinations", WORKLOAD, UNIT_PRICES);
    expect(line(eb, "EventBridge custom events")!.quantity).to.equal(1_000_000);
    expect(line(eb, "EventBridge API destination invocations")!.quantity).to.equal(3_000_000);
    expect(line(eb, "Lambda deliverer")).to.equal(undefined);
    expect(eb.signing).to.match(/^none/);
    const big = estimateDeliveryCost("eventbridge-api-destinations", { ...WORKLOAD, eventBytes: 65 * 1024 }, UNIT_PRICES);
    expect(line(big, "EventBridge custom events")!.quantity).to.equal(2_000_000);
  });

  it("Step Functions Standard: three transitions per attempt on top of the same signing Lambda", () => {
    const sfn = estimateDeliveryCost("step-functions-standard", WORKLOAD, UNIT_PRICES);
    const sqs = estimateDeliveryCost("sqs-lambda", WORKLOAD, UNIT_PRICES);
    expect(line(sfn, "Step Functions Standard transitions")!.quantity).to.equal(9_000_000);
    expect(line(sfn, "Lambda deliverer")!.usd).to.equal(line(sqs, "Lambda deliverer")!.usd);
    expect(line(sfn, "SQS requests")).to.equal(undefined);
  });

  it("reports per million deliveries (events × matching subscriptions), the chosen engine first", () => {
    const all = compareDeliveryEngines(WORKLOAD, UNIT_PRICES);
    expect(all.map((e) => e.engine)).to.deep.equal(["sqs-lambda", "eventbridge-api-destinations", "step-functions-standard"]);
    for (const e of all) expect(e.usd_per_million_deliveries).to.be.closeTo(e.usd / 2, 1e-9);
  });

  it("at list prices, the stack's engine costs a fraction of Step Functions Standard per million deliveries", () => {
    const { prices } = loadPrices();
    const [sqs, , sfn] = compareDeliveryEngines({ ...WORKLOAD, delivererMemoryMb: 256 }, prices);
    expect(sfn!.usd_per_million_deliveries / sqs!.usd_per_million_deliveries).to.be.greaterThan(5);
  });

  it("refuses fewer than one attempt per delivery", () => {
    expect(() => estimateDeliveryCost("sqs-lambda", { ...WORKLOAD, attemptsPerDelivery: 0.5 }, UNIT_PRICES)).to.throw(/at least 1/);
  });

  it("renders each engine's lines, its cost per million deliveries and what it can sign", () => {
    const text = renderDeliveryCost(compareDeliveryEngines(WORKLOAD, UNIT_PRICES), WORKLOAD);
    expect(text).to.include("sqs-lambda (this stack), per month:");
    expect(text).to.match(/per million deliveries, by engine:\n {2}sqs-lambda/);
    expect(text).to.include("signs: none");
    expect(text).to.include("idle queue polls for 3 subscription(s)");
  });

  it("has a sourced, dated EventBridge price in cost/prices.json for each compared engine", () => {
    const { file } = loadPrices();
    expect(file.prices.eventbridge_per_million_custom_events.source).to.equal("https://aws.amazon.com/eventbridge/pricing/");
    expect(file.prices.eventbridge_api_destinations_per_million_invocations.source).to.equal("https://aws.amazon.com/eventbridge/pricing/");
  });
});
