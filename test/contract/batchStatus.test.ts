/**
 * The status of a POST /events/batch answer, and the three places that state it: the code
 * (ingestEvent.ts batchStatus), the OpenAPI document and the README routes table (issue 26, doc
 * errors: the README said 202 "when any was queued" and 207 "when mixed", both wrong).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";
import { batchStatus } from "../../handlers/lib/api/ingestEvent";
import { buildOpenApiDocument } from "../../handlers/lib/api/openapi";

describe("POST /events/batch: 200, 202 or 207", () => {
  it("is 207 when any item was not accepted, also when none was; else 202 when any was queued; else 200", () => {
    expect(batchStatus({ items: 3, accepted: 3, queued: 0 })).to.equal(200);
    expect(batchStatus({ items: 3, accepted: 3, queued: 1 })).to.equal(202);
    expect(batchStatus({ items: 2, accepted: 1, queued: 1 }), "one queued, one rejected").to.equal(207);
    expect(batchStatus({ items: 2, accepted: 0, queued: 0 }), "all rejected").to.equal(207);
  });

  it("the OpenAPI document says the same", () => {
    const responses = (buildOpenApiDocument() as any).paths["/events/batch"].post.responses as Record<string, { description: string }>;
    expect(responses["200"]!.description).to.match(/^Every item stored or a duplicate; none queued\./);
    expect(responses["202"]!.description).to.match(/every item queued \(202\) or a duplicate .*at least one queued/);
    expect(responses["207"]!.description).to.match(/^At least one item rejected or failed, also when every item was/);
  });

  it("the README routes table says the same", () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    const row = readme.split("\n").find((line) => line.startsWith("| `POST /events/batch`"))!;
    expect(row).to.include("`200` when every item was stored or a duplicate, none queued");
    expect(row).to.include("`202` when every item was queued or a duplicate, at least one queued");
    expect(row).to.include("`207` when at least one item was rejected or failed, also when every item was");
    expect(row).not.to.match(/when any was queued|when mixed/);
  });
});
