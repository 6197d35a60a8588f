/**
 * What a real account checks that mocks do not: the concurrency quota prod's reservations need,
 * and the log settings operators and the cost model rely on (issue 14, docs/adr/0023).
 */
import { expect } from "chai";
import { SYSTEM_LOG_LEVEL, UNRESERVED_CONCURRENCY_MINIMUM } from "../../components/handlerFunction";
import { sharedStack, EVERYTHING_ON } from "../support/sharedStacks";

const FUNCTION = "aws:lambda/function:Function";

describe("deployability", function () {
  this.timeout(60_000);

  it("states the account concurrency quota each stack needs: stock prod's 50 reserved (the pipeline's cap) + 100 unreserved = 150, dev 100", async () => {
    const prod = await sharedStack("prod");
    const dev = await sharedStack("dev");
    const reserved = prod.ofType(FUNCTION).reduce((sum, f) => sum + (f.inputs.reservedConcurrentExecutions ?? 0), 0);
    expect(reserved).to.equal(50);
    expect(prod.outputs.requiredLambdaConcurrencyQuota).to.equal(reserved + UNRESERVED_CONCURRENCY_MINIMUM).and.equal(150);
    expect(dev.outputs.requiredLambdaConcurrencyQuota).to.equal(100);
  });

  it("counts the API's reservations and the pipeline's cap together when both are set: 200 + 50 + 100 = 350", async () => {
    const prod = await sharedStack("prod", { reservedConcurrency: "ingest=100,authorizer=50,read=50" });
    expect(prod.outputs.requiredLambdaConcurrencyQuota).to.equal(350);
  });

  it("keeps Lambda's INFO system lines (START, REPORT) in every function's JSON logs: systemLogLevel INFO, not WARN", async () => {
    const stack = await sharedStack("dev", EVERYTHING_ON);
    expect(SYSTEM_LOG_LEVEL).to.equal("INFO");
    const functions = stack.ofType(FUNCTION);
    expect(functions.length).to.be.greaterThan(6);
    for (const f of functions) {
      expect(f.inputs.loggingConfig, f.inputs.name).to.deep.include({ logFormat: "JSON", systemLogLevel: "INFO", applicationLogLevel: "INFO" });
    }
  });
});
