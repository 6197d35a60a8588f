/**
 * Every `npm run` script of this project answers `--help` with its usage (exit 0) and an unknown
 * option with its usage (exit 2), before doing anything: no stack started, no file written, no
 * load run (issue 26, bug 1: `npm run soak -- --help` used to run the whole soak, and
 * `npm run openapi -- --bogus` rewrote docs/openapi.json). Each runs as a child process through npm.
 * The scripts that only call a tool (test, test:file, coverage, typecheck) have the tool's own --help.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";
import { tempDir } from "../support/tempDirs";

const TOOL_SCRIPTS = new Set(["test", "test:file", "coverage", "typecheck"]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function npmRun(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // A script that ignores --help would run on (the soak, the dev stack): stop it and fail.
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("npm run <script> -- --help / an unknown option (package.json scripts)", function () {
  this.timeout(300_000);
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const scripts = Object.keys(pkg.scripts).filter((name) => !TOOL_SCRIPTS.has(name));
  const openapi = path.join(PROJECT_ROOT, "docs", "openapi.json");
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const results = new Map<string, { help: Run; bogus: Run }>();

  before(async () => {
    dataDir = path.join(tempDir("event-ingestion-help-"), "data");
    // A DATA_DIR and ports no real stack uses: a script that started anyway would touch nothing shared.
    env = { ...process.env, DATA_DIR: dataDir, PORT: "0", DYNAMODB_PORT: "0", SQS_PORT: "0", SNS_PORT: "0", SOAK_SECONDS: "1", FUZZ_RUNS: "1" };
    const openapiBefore = fs.statSync(openapi).mtimeMs;
    // Two at a time: the machine is shared.
    const queue = [...scripts];
    await Promise.all(
      [0, 1].map(async () => {
        for (let script = queue.shift(); script !== undefined; script = queue.shift()) {
          results.set(script, { help: await npmRun(script, ["--help"], env), bogus: await npmRun(script, ["--bogus-option"], env) });
        }
      }),
    );
    expect(fs.statSync(openapi).mtimeMs, "docs/openapi.json was rewritten").to.equal(openapiBefore);
  });

  it("covers the project's own scripts", () => {
    expect(scripts).to.include.members(["dev", "keys", "webhooks", "openapi", "preview", "bench", "cost", "soak", "redrive"]);
  });

  it("did nothing: no DATA_DIR created by any of them", () => {
    expect(fs.existsSync(dataDir)).to.equal(false);
  });

  for (const script of ["dev", "keys", "webhooks", "openapi", "preview", "bench", "cost", "soak", "redrive"]) {
    it(`${script}: --help prints the usage on stdout and exits 0; --bogus-option prints it on stderr and exits 2`, () => {
      const { help, bogus } = results.get(script)!;
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.match(/^usage: npm run /im);
      expect(bogus.code, bogus.stdout + bogus.stderr).to.equal(2);
      expect(bogus.stderr).to.match(/bogus-option/).and.match(/usage: npm run /i);
    });
  }
});
