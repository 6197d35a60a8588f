/**
 * `npm run preview` and secrets, typos and false differences (issue 20 item 5, issue 26 bug 5):
 * a webhook secret never appears in the tree or in --json (shown as [secret]); a stack whose
 * secret was set with `pulumi config set --secret` (a `secure:` value) previews without the real
 * secret; `--set` refuses a key Pulumi.yaml does not declare and names the closest one; and
 * `--diff` does not report the events table's name as a change when the value is the same table.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { runPreviewCli } from "../../cli/preview";
import { PROJECT_ROOT } from "../../components/bundle";

const SECRET = "preview-secret-0123456789abcdef-do-not-print";

describe("npm run preview: secrets, --set keys and --diff", function () {
  this.timeout(180_000);

  it("shows the webhook secret as [secret] in the tree and in --json, never its value", async () => {
    const args = ["--stack", "dev", "--set", "webhookSources=github=github", "--set", `webhookSecret-github=${SECRET}`];
    for (const extra of [[], ["--json"]]) {
      const result = await runPreviewCli([...args, ...extra]);
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(result.stdout).not.to.include(SECRET);
      expect(result.stdout).to.include("[secret]");
    }
  });

  it("previews a stack whose secret is a secure: value, without the real secret", async () => {
    const stack = `preview-secure-${process.pid}`;
    const file = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(
      file,
      ["config:", "  aws:region: eu-north-1", "  event-ingestion:webhookSources: github=github", "  event-ingestion:webhookSecret-github:", "    secure: AAABAExampleCiphertextOnlyPulumiCanDecrypt==", ""].join("\n"),
    );
    try {
      const result = await runPreviewCli(["--stack", stack, "--json"]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const parameter = JSON.parse(result.stdout).resources.find((r: { type: string }) => r.type === "aws:ssm/parameter:Parameter");
      expect(parameter.settings).to.deep.include({ type: "SecureString", value: "[secret]" });
      expect(result.stdout).not.to.include("AAABAExample");
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("refuses a misspelt --set key with exit 2 and the closest declared key", async () => {
    const result = await runPreviewCli(["--stack", "dev", "--set", "forwardToEventbridge=true", "--diff", "dev"]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.include("Pulumi.yaml declares no config key forwardToEventbridge; did you mean forwardToEventBridge?");
    expect(result.stdout).to.equal("");
  });

  it("accepts declared keys, per-source webhook keys and provider keys", async () => {
    const result = await runPreviewCli(["--stack", "dev", "--set", "event-ingestion:enableTtl=true", "--set", "aws:region=eu-north-1", "--set", `webhookPreviousSecret-x=${SECRET}`, "--diff", "dev"]);
    expect(result.exitCode, result.stderr).to.equal(0);
  });

  it("--diff does not list EVENTS_TABLE_NAME as changing when forwardToEventBridge adds a bus of the same name", async () => {
    const result = await runPreviewCli(["--stack", "dev", "--set", "forwardToEventBridge=true", "--diff", "dev", "--json"]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const diff = JSON.parse(result.stdout) as { changed: { key: string; settings: Record<string, unknown> }[]; added: string[] };
    expect(diff.added.some((key) => key.startsWith("aws:cloudwatch/eventBus:EventBus")), "the bus is added").to.equal(true);
    const tableNameChanges = diff.changed.filter((c) => Object.keys(c.settings).some((k) => k.endsWith("EVENTS_TABLE_NAME")));
    expect(tableNameChanges.map((c) => c.key)).to.deep.equal([]);
  });
});
