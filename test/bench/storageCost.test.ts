/**
 * The storage-path cost model (cost/storageModel.ts) against the issue's goals, with item
 * sizes from the handlers' own encoder: a 24 KB pull_request.opened written and acked costs at
 * most a tenth of the write units it did; the GitHub examples at the median at most a quarter; a
 * 300-byte event no more than before (2 write units to store); claim-checked events stay small.
 */
import { expect } from "chai";
import { loadPrices } from "../../cost/prices";
import { pullRequestOpened } from "../../cost/githubPayloads";
import { storageCost } from "../../cost/storageModel";
import { githubRows, sizeRows, storagePrices } from "../../cost/storageReport";

describe("npm run cost: the storage path before and after ADR 0035", () => {
  const prices = storagePrices(loadPrices().prices);

  it("pull_request.opened (21 KB), written and acked once: at most 0.1× the write units of before", () => {
    const before = storageCost(pullRequestOpened(), "before", prices);
    const after = storageCost(pullRequestOpened(), "after", prices);
    expect(before.writeUnits.total).to.be.at.least(100);
    expect(after.writeUnits.total / before.writeUnits.total).to.be.at.most(0.1);
  });

  it("the GitHub examples at the median: at most 0.25× the write units of before", () => {
    expect(githubRows(prices).medianWriteRatio).to.be.at.most(0.25);
  });

  it("a 300-byte event: 2 write units to store (table + index), as before, and no more in all", () => {
    const [row] = sizeRows([300], prices);
    expect(row!.after.writeUnits.write + row!.after.writeUnits.indexWrite).to.equal(2);
    expect(row!.after.writeUnits.total).to.be.at.most(row!.before.writeUnits.total);
    // A listing page of 25 costs at most 2× what it did.
    expect(row!.after.listReadUnits).to.be.at.most(2 * row!.before.listReadUnits);
  });

  it("5 MB: claim-checked to S3, the item and every status change one write unit", () => {
    const [row] = sizeRows([5 * 1024 * 1024], prices);
    expect(row!.after.claimChecked).to.equal(true);
    expect(row!.after.writeUnits).to.deep.include({ write: 1, indexWrite: 1, ack: 1, ackIndex: 2 });
  });
});
