/**
 * The example payment pipeline's stages called directly (users copy them, so they must be right):
 * the currency check is an own-property check, so inherited names such as "constructor" are
 * refused instead of passing with a function for exponent (issue 20, security 4).
 */
import { expect } from "chai";
import type { StageCallback, StageContext } from "../../components/EventPipeline";
import { assignRiskBand, validatePayment } from "../../pipelines/payments";

const CONTEXT = {} as StageContext; // the payment stages read only the event
const run = async (stage: StageCallback, event: ReturnType<typeof payment>) => stage(event, CONTEXT);

const payment = (currency: string) => ({ event_type: "payment.succeeded", payload: { payment_id: "pay_1", amount: 2_000_000, currency, country: "SE", card_country: "SE" } });

describe("pipelines/payments: the example stages", () => {
  it("accepts a known currency and bands EUR 20,000 high", async () => {
    expect(await run(validatePayment, payment("EUR"))).to.deep.equal(payment("EUR"));
    expect((await run(assignRiskBand, payment("EUR"))).metadata).to.deep.equal({ risk_band: "high" });
  });

  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "XXX"]) {
    it(`refuses the currency ${JSON.stringify(name)} in validation, and the risk stage refuses it on its own too`, async () => {
      for (const stage of [validatePayment, assignRiskBand]) {
        const error = await run(stage, payment(name)).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error, stage.name).to.be.instanceOf(Error);
        expect(error).to.include({ name: "PaymentRejected" });
      }
    });
  }
});
