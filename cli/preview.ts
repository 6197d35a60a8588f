/**
 * `npm run preview -- --stack dev|prod [--set key=value …] [--json] [--diff other-stack] [--mermaid]`:
 * what `pulumi up` would create, without an AWS account or the Pulumi CLI. The program (index.ts)
 * runs under the same mocks as the infra tests, with config from Pulumi.yaml, Pulumi.<stack>.yaml
 * and --set, as `pulumi config set` would give it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../components/bundle";
import { buildStack, declaredConfigKeys, PROJECT } from "./preview/mockStack";
import { diffPreviews, previewOf, renderDiff, renderMermaid, renderTree, withReadmeDiagram, type StackPreview } from "./preview/stackPreview";

const USAGE = `Usage: npm run preview -- --stack <stack> [options]

Builds the program under Pulumi mocks (no AWS account, no Pulumi CLI) and prints what pulumi up
would create for the stack: every resource under its component, with its type, physical name and
settings, the flows between functions, tables, queues and topics, and the Lambda concurrency
quota the stack needs in the account.

  --stack <name>       dev or prod (config from Pulumi.yaml and Pulumi.<name>.yaml); another
                       name uses the project defaults
  --set key=value      override a config value, as pulumi config set would (repeatable),
                       e.g. --set forwardToEventBridge=true --set aws:region=us-east-1;
                       a key Pulumi.yaml does not declare is refused, with the closest one
  secrets (SSM parameter values, secure: config) are shown as [secret]; a secure: value in
  Pulumi.<stack>.yaml is not decrypted: the preview uses a stand-in
  --json               print the same as JSON
  --diff <stack>       print what differs from <stack> to --stack (with --json: as JSON)
  --mermaid            print a Mermaid flowchart of the stack
  --update-readme      with --mermaid: write the diagram into README.md between its markers
  -h, --help           show this help`;

export interface PreviewCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runPreviewCli(argv: string[]): Promise<PreviewCliResult> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        set: { type: "string", multiple: true, default: [] },
        json: { type: "boolean", default: false },
        diff: { type: "string" },
        mermaid: { type: "boolean", default: false },
        "update-readme": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
  if (!values.stack) return usageError("--stack is required");
  if (values["update-readme"] && !values.mermaid) return usageError("--update-readme goes with --mermaid");
  if (values.mermaid && values.diff !== undefined) return usageError("--mermaid draws one stack; leave out --diff");
  const overrides: Record<string, string> = {};
  for (const pair of values.set ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) return usageError(`--set expects key=value, got "${pair}"`);
    const key = pair.slice(0, at);
    const problem = undeclaredKeyProblem(key);
    if (problem) return usageError(problem);
    overrides[key] = pair.slice(at + 1);
  }

  let preview: StackPreview;
  let other: StackPreview | undefined;
  try {
    // The other stack first: each build replaces the mocks, and the stack asked for is built last.
    if (values.diff !== undefined) other = previewOf(await buildStack(values.diff));
    preview = previewOf(await buildStack(values.stack, overrides));
  } catch (error) {
    return { exitCode: 1, stdout: "", stderr: `The program failed for stack ${values.stack}: ${(error as Error).message}\n` };
  }

  const missing = [values.stack, values.diff]
    .filter((stack): stack is string => stack !== undefined && !fs.existsSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`)))
    .map((stack) => `note: there is no Pulumi.${stack}.yaml; stack ${stack} uses the project defaults from Pulumi.yaml\n`)
    .join("");

  if (other) {
    const diff = diffPreviews(other, preview, PROJECT);
    return { exitCode: 0, stdout: values.json ? `${JSON.stringify(diff, null, 2)}\n` : renderDiff(diff), stderr: missing };
  }
  if (values.mermaid) {
    const mermaid = renderMermaid(preview, PROJECT);
    if (values["update-readme"]) {
      const readmePath = path.join(PROJECT_ROOT, "README.md");
      fs.writeFileSync(readmePath, withReadmeDiagram(fs.readFileSync(readmePath, "utf8"), mermaid));
      return { exitCode: 0, stdout: `README.md: diagram of stack ${preview.stack} updated\n`, stderr: "" };
    }
    return { exitCode: 0, stdout: mermaid, stderr: missing };
  }
  return { exitCode: 0, stdout: values.json ? `${JSON.stringify(preview, null, 2)}\n` : renderTree(preview), stderr: missing };
}

/**
 * Keys the program reads besides the declared ones: one per webhook source (index.ts reads
 * `webhookSecret-<name>` and `webhookPreviousSecret-<name>` for each source in webhookSources).
 */
const PER_SOURCE_KEYS = /^(webhookSecret|webhookPreviousSecret)-[A-Za-z0-9_-]+$/;

/**
 * Why `--set key=…` would be silently ignored, or undefined: the key is declared in Pulumi.yaml,
 * a per-source key, or another provider's (`aws:…`, which Pulumi.yaml need not declare).
 */
export function undeclaredKeyProblem(key: string): string | undefined {
  const bare = key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : key;
  if (bare.includes(":") && !bare.startsWith(`${PROJECT}:`)) return undefined;
  const declared = declaredConfigKeys().filter((k) => !k.includes(":"));
  if (declared.includes(bare) || PER_SOURCE_KEYS.test(bare)) return undefined;
  const closest = declared.map((k) => ({ k, d: editDistance(k.toLowerCase(), bare.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  const hint = closest && closest.d <= Math.max(3, Math.floor(bare.length / 3)) ? `; did you mean ${closest.k}?` : `; the keys are declared in Pulumi.yaml`;
  return `--set ${bare}: Pulumi.yaml declares no config key ${bare}${hint}`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function usageError(message: string): PreviewCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  runPreviewCli(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
