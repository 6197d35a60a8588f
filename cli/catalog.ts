/**
 * `npm run catalog -- check [--against <file | git ref>] [--mode backward|forward|full] [--json]`:
 * compares the event catalogue in the working tree (events/catalog.ts) with an earlier one and
 * reports each change as compatible or breaking (cli/catalog/compatibility.ts). Exit 1 when a
 * type changed incompatibly in the chosen mode and its `version` was not raised (or went down);
 * 0 otherwise; 2 for a usage error. It also checks that every type's examples pass its schema.
 *
 * `--against` is a snapshot file (`npm run catalog -- snapshot > catalog.snapshot.json`), a
 * catalogue module (`.ts`, exporting `catalog`), or a git ref (default `HEAD`): that commit's
 * events/ and handlers/lib/ are extracted to a temporary directory and loaded from there. A ref
 * without a catalogue compares against an empty one.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../components/bundle";
import { payloadViolations, type Catalog } from "../handlers/lib/events/catalog";
import { catalogSnapshot, compareCatalogs, COMPATIBILITY_MODES, type CatalogSnapshot, type CompatibilityMode, type TypeVerdict } from "./catalog/compatibility";

const USAGE = `usage: npm run catalog -- check [--against <snapshot.json | catalog.ts | git ref>] [--mode backward|forward|full] [--json]
       npm run catalog -- snapshot          print the catalogue's snapshot (versions and JSON Schemas) as JSON

check  compares events/catalog.ts with --against (default HEAD) and exits 1 when a type changed
       incompatibly in --mode (default full) without a higher version; 2 on a usage error.`;

export interface CatalogCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CatalogCliOptions {
  /** The project whose events/catalog.ts is "now" and whose git history `--against` refs name. */
  root?: string;
  /** The catalogue of the working tree; by default root/events/catalog.ts. */
  current?: Catalog;
}

export async function runCatalogCli(argv: string[], options: CatalogCliOptions = {}): Promise<CatalogCliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { against: { type: "string" }, mode: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    return { exitCode: 2, stdout: "", stderr: `${(error as Error).message}\n${USAGE}\n` };
  }
  const { values, positionals } = parsed;
  if (values.help) return { exitCode: 0, stdout: USAGE + "\n", stderr: "" };
  const [command, ...extra] = positionals;
  if ((command !== "check" && command !== "snapshot") || extra.length > 0) {
    return { exitCode: 2, stdout: "", stderr: `${command === undefined ? "missing command" : `unknown command "${[command, ...extra].join(" ")}"`}\n${USAGE}\n` };
  }
  const mode = (values.mode ?? "full") as CompatibilityMode;
  if (!(COMPATIBILITY_MODES as readonly string[]).includes(mode)) return { exitCode: 2, stdout: "", stderr: `--mode must be one of ${COMPATIBILITY_MODES.join(", ")}\n${USAGE}\n` };

  const root = options.root ?? PROJECT_ROOT;
  const current = options.current ?? loadCatalogModule(path.join(root, "events", "catalog.ts"));
  const now = catalogSnapshot(current);
  if (command === "snapshot") return { exitCode: 0, stdout: JSON.stringify(now, null, 2) + "\n", stderr: "" };

  let before: CatalogSnapshot;
  const against = values.against ?? "HEAD";
  try {
    before = loadBaseline(root, against);
  } catch (error) {
    return { exitCode: 2, stdout: "", stderr: `cannot read --against ${against}: ${(error as Error).message}\n` };
  }
  const verdicts = compareCatalogs(before, now, mode);
  const badExamples = exampleFailures(current);
  const failed = verdicts.some((v) => v.failed) || badExamples.length > 0;
  const stdout = values.json
    ? JSON.stringify({ against, mode, ok: !failed, types: verdicts, invalid_examples: badExamples }, null, 2) + "\n"
    : report(verdicts, badExamples, against, mode);
  return { exitCode: failed ? 1 : 0, stdout, stderr: "" };
}

function loadCatalogModule(file: string): Catalog {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(file) as { catalog?: Catalog };
  if (!loaded.catalog || typeof loaded.catalog !== "object" || !("types" in loaded.catalog)) throw new Error(`${file} does not export a catalog`);
  return loaded.catalog;
}

/** A snapshot file, a catalogue module, or a git ref of `root`. */
function loadBaseline(root: string, against: string): CatalogSnapshot {
  const asFile = path.resolve(root, against);
  if (fs.existsSync(asFile) && fs.statSync(asFile).isFile()) {
    if (asFile.endsWith(".json")) {
      const snapshot = JSON.parse(fs.readFileSync(asFile, "utf8")) as CatalogSnapshot;
      if (snapshot.format !== 1 || typeof snapshot.types !== "object") throw new Error("not a catalogue snapshot (format 1)");
      return snapshot;
    }
    return catalogSnapshot(loadCatalogModule(asFile));
  }
  return snapshotAtRef(root, against);
}

/** The catalogue as committed at `ref`: its events/ and handlers/lib/ extracted and loaded. */
function snapshotAtRef(root: string, ref: string): CatalogSnapshot {
  const git = (...args: string[]) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
  const tracked = git("ls-tree", "-r", "--name-only", ref, "--", "events", "handlers/lib").split("\n").filter(Boolean);
  if (!tracked.includes("events/catalog.ts")) return { format: 1, types: {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "catalog-check-"));
  try {
    for (const file of tracked) {
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), execFileSync("git", ["-C", root, "show", `${ref}:${file}`]));
    }
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return catalogSnapshot(loadCatalogModule(path.join(dir, "events", "catalog.ts")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function exampleFailures(catalog: Catalog): string[] {
  return Object.entries(catalog.types).flatMap(([name, definition]) =>
    definition.examples.flatMap((example, i) => payloadViolations(definition, { payload: example }).map((e) => `${name} example ${i + 1}: ${e.pointer} ${e.detail}`)),
  );
}

function report(verdicts: TypeVerdict[], badExamples: string[], against: string, mode: CompatibilityMode): string {
  const lines = [`event catalogue against ${against}, compatibility ${mode}:`];
  for (const v of verdicts) {
    const versions = v.oldVersion === undefined ? `v${v.newVersion} (new)` : v.newVersion === undefined ? `v${v.oldVersion} (removed)` : v.oldVersion === v.newVersion ? `v${v.newVersion}` : `v${v.oldVersion} → v${v.newVersion}`;
    const status = v.versionLowered ? "FAIL: the version went down" : v.failed ? "FAIL: breaking without a higher version" : v.breaking ? "breaking, version raised: ok" : v.changes.length === 0 ? "unchanged" : "compatible";
    lines.push(`  ${v.eventType} ${versions}: ${status}`);
    for (const c of v.changes) {
      const breaks = c.breaks.length === 0 ? "compatible" : `breaks ${c.breaks.join(" + ")}`;
      lines.push(`    ${c.kind} ${c.path || "(type)"}: ${c.detail} [${breaks}]`);
    }
  }
  for (const failure of badExamples) lines.push(`  FAIL invalid example: ${failure}`);
  return lines.join("\n") + "\n";
}

if (require.main === module) {
  runCatalogCli(process.argv.slice(2)).then(
    (result) => {
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.exitCode;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
