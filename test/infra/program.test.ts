/**
 * `pulumi up` runs index.ts through ts-node with this project's tsconfig.json and its own
 * TypeScript. Without the CLI we can still run that exact path: ts-node, type-checking on, in a
 * fresh process. It must compile the whole program and stop at the first required config value.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { PROJECT_ROOT } from "../../components/bundle";

describe("the program as the Pulumi CLI runs it", function () {
  this.timeout(120_000);

  it("type-checks and loads under ts-node, then requires every config value the CLI supplies from Pulumi.yaml", async () => {
    const script = `require("ts-node").register({ transpileOnly: false });
try { require("./index.ts"); console.log("LOADED"); } catch (e) { console.log("ERROR " + String(e && e.message).split("\\n")[0]); }`;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["-e", script],
        { cwd: PROJECT_ROOT, env: { ...process.env, PULUMI_NODEJS_PROJECT: "event-ingestion", PULUMI_NODEJS_STACK: "dev", PULUMI_CONFIG: "{}" } },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    // A type error would surface here as "⨯ Unable to compile TypeScript"; a missing default as another key.
    expect(output.trim()).to.equal("ERROR Missing required configuration variable 'event-ingestion:enableTtl'");
  });
});
