/** The bench and cost commands as a user runs them: help, bad options, and what a run may touch. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const run = (script: string, ...args: string[]) => spawnSync(TSX, [script, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

describe("npm run cost / npm run bench (command line)", function () {
  this.timeout(120_000);

  it("cost --help prints the usage on stdout and exits 0", () => {
    const result = run("cli/cost.ts", "--help");
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^usage: npm run cost/);
    expect(result.stdout).to.include("--memory-mb");
  });

  it("cost with an unknown option says so, prints the usage on stderr and exits 2", () => {
    const result = run("cli/cost.ts", "--events-per-month", "1000", "--bogus");
    expect(result.status).to.equal(2);
    expect(result.stderr).to.include("bogus");
    expect(result.stderr).to.include("usage: npm run cost");
  });

  it("bench --help prints the usage, exits 0 and runs nothing: bench/results.json is untouched", () => {
    const results = path.join(ROOT, "bench", "results.json");
    const before = fs.statSync(results).mtimeMs;
    const result = run("bench/run.ts", "--help");
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^usage: npm run bench/);
    expect(result.stdout).to.include("--write");
    expect(result.stderr, "no section started").not.to.include("bench:");
    expect(fs.statSync(results).mtimeMs).to.equal(before);
  });
});
