/**
 * The client as users get it: built with `client/build.cts` into a temp copy of the package,
 * packed with `npm pack`, installed from the tarball into a fresh project (offline: it has no
 * dependencies), then used from a plain .mjs script against the local stack, and type-checked
 * from a TypeScript consumer through the package's `exports`.
 */
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildClient, CLIENT_DIR } from "../../client/build.cjs";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { tempDir } from "../support/tempDirs";

const NPM_QUIET = ["--no-audit", "--no-fund", "--offline", "--loglevel=error"];

describe("the client package, packed and installed", function () {
  this.timeout(180_000);
  let work: string;
  let app: string;
  let tarball: string;
  let packed: string[];

  before(async () => {
    work = tempDir("event-ingestion-client-pack-");
    const pkg = path.join(work, "pkg");
    fs.mkdirSync(pkg);
    for (const file of ["package.json", "README.md"]) fs.copyFileSync(path.join(CLIENT_DIR, file), path.join(pkg, file));
    await buildClient(path.join(pkg, "dist"));
    const [report] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", work, ...NPM_QUIET], { cwd: pkg, encoding: "utf8" })) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, report!.filename);
    packed = report!.files.map((f) => f.path).sort();

    app = path.join(work, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));
    execFileSync("npm", ["install", tarball, ...NPM_QUIET], { cwd: app, encoding: "utf8" });
  });

  it("packs only the built files, the README and package.json", () => {
    expect(path.basename(tarball)).to.equal("event-ingestion-client-0.1.0.tgz");
    expect(packed).to.include.members(["package.json", "README.md", "dist/index.js", "dist/index.d.ts"]);
    expect(packed.filter((f) => !f.startsWith("dist/") && f !== "package.json" && f !== "README.md")).to.deep.equal([]);
    expect(packed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).to.deep.equal([]);
  });

  it("installs with no dependencies", () => {
    const installed = JSON.parse(fs.readFileSync(path.join(app, "node_modules/@event-ingestion/client/package.json"), "utf8")) as Record<string, unknown>;
    expect(installed.dependencies).to.equal(undefined);
    expect(fs.readdirSync(path.join(app, "node_modules")).filter((d) => !d.startsWith("."))).to.deep.equal(["@event-ingestion"]);
  });

  describe("used from a plain .mjs script against the local stack", () => {
    let stack: LocalStack;
    let logs: HandlerLogs;
    let key: string;
    before(async () => {
      logs = captureHandlerLogs();
      stack = await startTestStack(tempDataDir());
      key = fs.readFileSync(stack.keyFile, "utf8").trim();
    });
    after(async () => {
      await stack?.close();
      logs.restore();
    });

    it("stores what it sends, reports rejections, and refuses sends after close()", async () => {
      fs.writeFileSync(
        path.join(app, "send.mjs"),
        `import { EventClient, isAccepted } from "@event-ingestion/client";
const client = new EventClient({ url: process.env.EVENTS_URL, apiKey: process.env.EVENTS_API_KEY, flushIntervalMs: 20 });
const outcomes = await Promise.all([
  client.send("pack.test", { n: 1 }),
  client.send("pack.test", { n: 2 }, { metadata: { from: "tarball" } }),
  client.send("not valid!", { n: 3 }),
]);
await client.close();
const late = await client.send("pack.test", { n: 4 });
console.log(JSON.stringify({ outcomes, accepted: outcomes.map(isAccepted), late: late.reason }));
`,
      );
      const stdout = await runNode(app, "send.mjs", { EVENTS_URL: stack.url, EVENTS_API_KEY: key });
      const result = JSON.parse(stdout) as { outcomes: { status: string; eventId?: string; problem?: { code: string } }[]; accepted: boolean[]; late: string };
      expect(result.outcomes.map((o) => o.status)).to.deep.equal(["stored", "stored", "rejected"]);
      expect(result.accepted).to.deep.equal([true, true, false]);
      expect(result.outcomes[2]!.problem!.code).to.equal("validation_failed");
      expect(result.late).to.equal("closed");
      const read = await call(stack, "GET", `/events/${result.outcomes[1]!.eventId}`, { key });
      expect(read.status).to.equal(200);
      expect(read.json()).to.deep.include({ event_type: "pack.test", payload: { n: 2 }, metadata: { from: "tarball" } });
      expect(stdout).not.to.include(key);
    });
  });

  it("gives a TypeScript consumer the package's types through exports, typed per event map", () => {
    fs.writeFileSync(
      path.join(app, "typed.mts"),
      `import { EventClient, type SendOutcome } from "@event-ingestion/client";
type Events = { "order.created": { order_id: string; total: number } };
const client = new EventClient<Events>({ url: "https://example.com", apiKey: "k" });
const ok: Promise<SendOutcome> = client.send("order.created", { order_id: "o-1", total: 1 });
// @ts-expect-error total is a number
client.send("order.created", { order_id: "o-1", total: "1" });
export { ok };
`,
    );
    // No Node types: what an edge-runtime project sees.
    const compilerOptions = { noEmit: true, strict: true, module: "node20", moduleResolution: "node16", target: "es2022", lib: ["es2022", "dom"], types: [] };
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["typed.mts"] }));
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "."], { cwd: app, encoding: "utf8" });
  });
});

/** `node <script>` in `cwd` with `env` added (asynchronously: the stack answers from this process). */
function runNode(cwd: string, script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${script} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}
