/**
 * The large-event bench's baseline and its storage figures (bench/large.ts), never its timings:
 * the shipped ingest bundle sends compressed items (format 2) from COMPRESS_MIN_PAYLOAD_BYTES on,
 * the same entry built with format-1 storage ("today's", ADR 0044) sends maps, both captured at the
 * instant endpoint as they cross the wire; those items priced per size class meet issue 22's write
 * goals; and `npm run cost -- --sizes classes|github-examples` prints the figures of a results file.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { bundleHandler } from "../../components/bundle";
import { HANDLERS } from "../../handlers/routes";
import { compressionOffBundle, itemFromWire, runLargeEvents, storageFigures } from "../../bench/large";
import type { LargeRunnerOutput } from "../../bench/large/runner";
import { LARGE_GOALS, storageGoals, type LargeEventResults } from "../../cost/largeEvents";
import { COMPRESS_MIN_PAYLOAD_BYTES, recordFromItem, type StoredItem } from "../../handlers/lib/events/record";
import { SWEEP_PAYLOAD_BYTES } from "../../bench/large/payloads";
import { pullRequestOpened } from "../../cost/githubPayloads";
import { writeJson } from "../../handlers/lib/primitives/json";
import { tempDir } from "../support/tempDirs";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

describe("npm run bench: large events, compressed vs format-1 storage", function () {
  this.timeout(180_000);
  let output: LargeRunnerOutput;

  before(async () => {
    // rounds 0: the runner captures the items and runs each variant once (one request), no timing.
    ({ output } = await runLargeEvents({ rounds: 0, blockScale: 0, buildDir: tempDir("large-bench-") }));
  });

  it("the format-1 baseline is its own build: the shipped bundle (what deploys) is built without the rewrite", async () => {
    const shipped = bundleHandler(HANDLERS.ingest.entry);
    const off = await compressionOffBundle(HANDLERS.ingest.entry);
    expect(off).not.to.equal(shipped);
    expect(bundleHandler(HANDLERS.ingest.entry)).to.equal(shipped);
  });

  it("pull_request.opened: the shipped bundle sends format 2 (brotli), the format-1 build a map; both hold the payload exactly", () => {
    const { ours, off } = output.classItems.pull_request_opened!;
    expect(ours.storage_format).to.deep.equal({ N: "2" });
    expect(ours).to.have.property("payload_br");
    expect(ours).not.to.have.property("payload");
    expect(off).not.to.have.property("storage_format");
    expect(off).not.to.have.property("payload_br");
    expect(off.payload).to.have.property("M");
    const expected = writeJson(JSON.parse(pullRequestOpened()) as Record<string, unknown>);
    for (const wire of [ours, off]) expect(writeJson(recordFromItem(itemFromWire(wire) as unknown as StoredItem).payload)).to.equal(expected);
  });

  it("the 300-byte event stays format 1 in both; the sweep is compressed by the shipped bundle only, from COMPRESS_MIN_PAYLOAD_BYTES on", () => {
    expect(output.classItems.typical_300!.ours).not.to.have.property("storage_format");
    expect(output.classItems.typical_300!.ours.payload).to.have.property("M");
    for (const bytes of SWEEP_PAYLOAD_BYTES) {
      const { ours, off } = output.classItems[`payload_${bytes}`]!;
      expect(ours.storage_format, `${bytes} B`).to.deep.equal(bytes >= COMPRESS_MIN_PAYLOAD_BYTES ? { N: "2" } : undefined);
      expect(off, `${bytes} B`).not.to.have.property("storage_format");
    }
    expect(output.githubItems.ours).to.have.length(329);
    expect(output.githubItems.off.every((item) => item.storage_format === undefined)).to.equal(true);
  });

  it("the captured items priced per size class meet issue 22's write goals; the sweep shows 512 B saves nothing", () => {
    const storage = storageFigures(output);
    const goals = storageGoals({ storage } as LargeEventResults);
    const byFigure = (text: string) => goals.find((g) => g.figure.includes(text))!;
    expect(byFigure("incl. one ack").value).to.be.at.most(LARGE_GOALS.large_write_ratio);
    expect(byFigure("at the median").value).to.be.at.most(LARGE_GOALS.github_median_write_ratio);
    expect(byFigure("store a 300 B event").value).to.equal(2);
    const typical = storage.classes.find((c) => c.name === "typical_300")!;
    expect(typical.after.writeUnits.total).to.equal(typical.before.writeUnits.total);
    const pr = storage.classes.find((c) => c.name === "pull_request_opened")!;
    expect(pr.before.itemBytes).to.be.greaterThan(15_000);
    expect(pr.after.itemBytes).to.be.lessThan(3_000);
    // A 512 B payload's item is under 1 KB either way: compression saves no write unit there.
    const at512 = storage.sweep.find((c) => c.name === "payload_512")!;
    expect(at512.after.writeUnits.total).to.equal(at512.before.writeUnits.total);
  });

  it("npm run cost -- --sizes classes and github-examples print the measured before/after of a results file", () => {
    const storage = storageFigures(output);
    const file = path.join(tempDir("large-results-"), "results.json");
    fs.writeFileSync(file, JSON.stringify({ date: "2026-12-07T12:00:00.000Z", machine: { load_average_at_start: 0.5 }, large_events: { storage, goals: LARGE_GOALS } }));
    const run = (sizes: string) => spawnSync(TSX, ["cli/cost.ts", "--sizes", sizes, "--results", file], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const classes = run("classes");
    expect(classes.status, classes.stderr).to.equal(0);
    expect(classes.stdout).to.include("Measured by npm run bench of 2026-12-07T12:00:00.000Z (load 0.5)");
    const pr = storage.classes.find((c) => c.name === "pull_request_opened")!;
    expect(classes.stdout).to.include(`${pr.before.itemBytes} → ${pr.after.itemBytes} (compressed)`);
    expect(classes.stdout).to.include("5 KB payload");
    const github = run("github-examples");
    expect(github.status, github.stderr).to.equal(0);
    expect(github.stdout).to.include(`GitHub examples, median`);
    expect(github.stdout).to.include(`median write-unit ratio ${storage.github_examples.median_write_ratio}`);
    const none = spawnSync(TSX, ["cli/cost.ts", "--sizes", "classes", "--results", path.join(path.dirname(file), "absent.json")], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(none.status, none.stderr).to.equal(0);
    expect(none.stdout).to.include("no measured figures");
  });
});
