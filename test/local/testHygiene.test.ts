/**
 * The test run itself: `npm test` leaves no event-ingestion-local-test-* folders in the temp dir.
 * A child mocha, with the setup npm test uses and a temp dir of its own, runs a test that makes
 * DATA_DIRs and never removes them; after the run the folders must be gone.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";

describe("test hygiene", function () {
  this.timeout(60_000);

  it("removes every DATA_DIR a test made through tempDataDir() when the run ends, even one the test left behind", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-hygiene-"));
    try {
      const mocharc = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".mocharc.json"), "utf8")) as { require: string[] };
      const output = execFileSync(
        process.execPath,
        [
          path.join(PROJECT_ROOT, "node_modules/mocha/bin/mocha.js"),
          "--no-config",
          ...mocharc.require.flatMap((r) => ["--require", r]),
          "--extension",
          "ts",
          "test/support/fixtures/leavesTempDirs.fixture.ts",
        ],
        { cwd: PROJECT_ROOT, env: { ...process.env, TMPDIR: tmp }, encoding: "utf8", timeout: 50_000 },
      );
      const made = [...output.matchAll(/^made (.+)$/gm)].map((m) => m[1]!);
      expect(made, output).to.have.length(2);
      for (const dir of made) {
        expect(path.dirname(dir), "made in the child's own temp dir").to.equal(tmp);
        expect(fs.existsSync(dir), `${dir} is still there`).to.equal(false);
      }
      expect(fs.readdirSync(tmp).filter((name) => name.startsWith("event-ingestion-local-test-"))).to.deep.equal([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
