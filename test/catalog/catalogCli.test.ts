/**
 * `npm run catalog -- check`: each kind of breaking change is found and fails the check unless the
 * type's version was raised; compatible changes pass; the modes (backward, forward, full) decide
 * which direction counts; `--against` reads a snapshot file or a git ref; usage errors exit 2.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as z from "zod/mini";
import { runCatalogCli } from "../../cli/catalog";
import { catalogSnapshot, compareCatalogs, type Change } from "../../cli/catalog/compatibility";
import { defineCatalog, defineEventType, type ObjectSchema } from "../../handlers/lib/events/catalog";
import { PROJECT_ROOT } from "../../components/bundle";
import { tempDir } from "../support/tempDirs";

const base = {
  order_id: z.string(),
  total: z.number(),
  currency: z.enum(["EUR", "USD"]),
  note: z.optional(z.string()),
};
const EXAMPLE = { order_id: "o-1", total: 1, currency: "EUR" };

/** A one-type catalogue with `payload` at `version`. */
function catalogWith(payload: ObjectSchema, version = 1, examples: unknown[] = [EXAMPLE]) {
  return defineCatalog({ "order.created": defineEventType({ description: "d", owner: "o", version, payload, examples: examples as [never] }) });
}
const BEFORE = catalogWith(z.object(base));

function changes(after: ReturnType<typeof catalogWith>, mode: "backward" | "forward" | "full" = "full") {
  const [verdict] = compareCatalogs(catalogSnapshot(BEFORE), catalogSnapshot(after), mode);
  return verdict!;
}
const kinds = (list: Change[]) => list.map((c) => `${c.kind} ${c.path} [${c.breaks.join("+")}]`);

describe("npm run catalog -- check", () => {
  describe("classifying changes (cli/catalog/compatibility.ts)", () => {
    it("a removed required field breaks forward (old consumers expect it); fails in full and forward, passes in backward for an open object", () => {
      const { order_id: _removed, ...rest } = base;
      const after = catalogWith(z.object(rest), 1, [{ total: 1, currency: "EUR" }]);
      expect(kinds(changes(after).changes)).to.deep.equal(['field_removed payload.order_id [forward]']);
      expect(changes(after, "full").failed).to.equal(true);
      expect(changes(after, "forward").failed).to.equal(true);
      expect(changes(after, "backward").failed).to.equal(false);
    });

    it("a renamed field is one change, breaking both ways when the new name is required", () => {
      const { order_id: _renamed, ...rest } = base;
      const after = catalogWith(z.object({ ...rest, order_ref: z.string() }), 1, [{ order_ref: "o-1", total: 1, currency: "EUR" }]);
      expect(kinds(changes(after).changes)).to.deep.equal(['field_renamed payload.order_id [forward+backward]']);
      expect(changes(after).failed).to.equal(true);
    });

    it("a narrowed type (number → integer), a removed enum value and a tighter bound break backward", () => {
      const after = catalogWith(z.object({ ...base, total: z.int().check(z.nonnegative()), currency: z.enum(["EUR"]) }));
      const found = kinds(changes(after).changes);
      expect(found).to.include.members(["type_narrowed payload.total [backward]", "constraint_tightened payload.total [backward]", "values_narrowed payload.currency [backward]"]);
      expect(found.every((k) => k.endsWith("[backward]")), found.join("; ")).to.equal(true);
      expect(changes(after, "backward").failed).to.equal(true);
      expect(changes(after, "forward").failed).to.equal(false);
    });

    it("a new required field breaks backward; a new optional one on an open object is compatible in every mode", () => {
      const required = catalogWith(z.object({ ...base, customer_id: z.string() }), 1, [{ ...EXAMPLE, customer_id: "c" }]);
      expect(kinds(changes(required).changes)).to.deep.equal(["field_added payload.customer_id [backward]"]);
      expect(changes(required).failed).to.equal(true);
      const optional = catalogWith(z.object({ ...base, customer_id: z.optional(z.string()) }));
      expect(kinds(changes(optional).changes)).to.deep.equal(["field_added payload.customer_id []"]);
      expect(changes(optional).failed).to.equal(false);
    });

    it("an optional field made required breaks backward; widening (an enum value added) breaks forward only", () => {
      expect(kinds(changes(catalogWith(z.object({ ...base, note: z.string() }))).changes)).to.deep.equal(["became_required payload.note [backward]"]);
      const widened = catalogWith(z.object({ ...base, currency: z.enum(["EUR", "USD", "SEK"]) }));
      expect(kinds(changes(widened).changes)).to.deep.equal(["values_widened payload.currency [forward]"]);
      expect(changes(widened, "backward").failed).to.equal(false);
      expect(changes(widened, "forward").failed).to.equal(true);
    });

    it("follows nested objects and array items: a field path like payload.lines[].qty", () => {
      const before = catalogWith(z.object({ lines: z.array(z.object({ qty: z.number() })) }), 1, [{ lines: [] }]);
      const after = catalogWith(z.object({ lines: z.array(z.object({ qty: z.int() })) }), 1, [{ lines: [] }]);
      const [verdict] = compareCatalogs(catalogSnapshot(before), catalogSnapshot(after), "full");
      expect(kinds(verdict!.changes)).to.deep.include("type_narrowed payload.lines[].qty [backward]");
    });

    it("a breaking change passes with a higher version; a lower version always fails", () => {
      const { order_id: _removed, ...rest } = base;
      expect(changes(catalogWith(z.object(rest), 2, [{ total: 1, currency: "EUR" }]))).to.include({ breaking: true, failed: false });
      expect(changes(catalogWith(z.object(base), 0 + 1)).failed).to.equal(false);
      const lowered = compareCatalogs(catalogSnapshot(catalogWith(z.object(base), 3)), catalogSnapshot(catalogWith(z.object(base), 2)), "full")[0]!;
      expect(lowered).to.include({ versionLowered: true, failed: true });
    });

    it("a removed type is breaking; an added type is compatible", () => {
      const empty = { format: 1 as const, types: {} };
      expect(compareCatalogs(catalogSnapshot(BEFORE), empty, "full")[0]).to.include({ failed: true });
      expect(compareCatalogs(empty, catalogSnapshot(BEFORE), "full")[0]).to.include({ failed: false, breaking: false });
    });
  });

  describe("the command", () => {
    let dir: string;
    beforeEach(() => {
      dir = tempDir("catalog-cli-");
    });

    const snapshotFile = (catalog: ReturnType<typeof catalogWith>) => {
      const file = path.join(dir, "before.json");
      fs.writeFileSync(file, JSON.stringify(catalogSnapshot(catalog)));
      return file;
    };

    it("exits 1 on a breaking change without a higher version, naming the field, and 0 once the version is raised", async () => {
      const against = snapshotFile(BEFORE);
      const { order_id: _removed, ...rest } = base;
      const broken = await runCatalogCli(["check", "--against", against], { current: catalogWith(z.object(rest), 1, [{ total: 1, currency: "EUR" }]) });
      expect(broken.exitCode, broken.stdout).to.equal(1);
      expect(broken.stdout).to.contain("order.created v1: FAIL: breaking without a higher version");
      expect(broken.stdout).to.contain('field_removed payload.order_id: "order_id" removed (it was required) [breaks forward]');
      const raised = await runCatalogCli(["check", "--against", against], { current: catalogWith(z.object(rest), 2, [{ total: 1, currency: "EUR" }]) });
      expect(raised.exitCode, raised.stdout).to.equal(0);
      expect(raised.stdout).to.contain("order.created v1 → v2: breaking, version raised: ok");
    });

    it("--mode backward lets a forward-only break through; --json prints the verdicts", async () => {
      const against = snapshotFile(BEFORE);
      const widened = catalogWith(z.object({ ...base, currency: z.enum(["EUR", "USD", "SEK"]) }));
      expect((await runCatalogCli(["check", "--against", against, "--mode", "backward"], { current: widened })).exitCode).to.equal(0);
      const json = await runCatalogCli(["check", "--against", against, "--json"], { current: widened });
      expect(json.exitCode).to.equal(1);
      expect(JSON.parse(json.stdout)).to.deep.include({ mode: "full", ok: false });
    });

    it("fails on an example that does not match its own schema", async () => {
      const result = await runCatalogCli(["check", "--against", snapshotFile(BEFORE)], { current: catalogWith(z.object(base), 1, [{ order_id: 5 }]) });
      expect(result.exitCode).to.equal(1);
      expect(result.stdout).to.contain("FAIL invalid example: order.created example 1: /payload/order_id");
    });

    it("reads --against as a git ref: the catalogue committed there", async () => {
      // A repository of its own: events/catalog.ts at v1 committed, the same handlers/lib beside it.
      const git = (...args: string[]) => execFileSync("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { stdio: "pipe" });
      git("init", "-q");
      fs.cpSync(path.join(PROJECT_ROOT, "handlers", "lib"), path.join(dir, "handlers", "lib"), { recursive: true });
      fs.mkdirSync(path.join(dir, "events"));
      fs.writeFileSync(
        path.join(dir, "events", "catalog.ts"),
        `import * as z from "zod/mini";
import { defineCatalog, defineEventType } from "../handlers/lib/events/catalog";
export const catalog = defineCatalog({ "order.created": defineEventType({ description: "d", owner: "o", version: 1, payload: z.object({ order_id: z.string(), total: z.number() }), examples: [{ order_id: "o", total: 1 }] }) });
`,
      );
      git("add", "-A");
      git("commit", "-qm", "v1");
      const narrowed = defineCatalog({ "order.created": defineEventType({ description: "d", owner: "o", version: 1, payload: z.object({ order_id: z.string(), total: z.int() }), examples: [{ order_id: "o", total: 1 }] }) });
      const result = await runCatalogCli(["check", "--against", "HEAD"], { root: dir, current: narrowed });
      expect(result.exitCode, result.stdout + result.stderr).to.equal(1);
      expect(result.stdout).to.contain("type_narrowed payload.total");
      const missing = await runCatalogCli(["check", "--against", "no-such-ref"], { root: dir, current: narrowed });
      expect(missing.exitCode).to.equal(2);
    });

    it("--help prints the usage (exit 0); an unknown option, command or mode prints it and exits 2", async () => {
      const help = await runCatalogCli(["--help"]);
      expect(help).to.include({ exitCode: 0 });
      expect(help.stdout).to.contain("usage: npm run catalog -- check");
      for (const argv of [["check", "--bogus"], ["frobnicate"], [], ["check", "--mode", "sideways"]]) {
        const result = await runCatalogCli(argv, { current: BEFORE });
        expect(result.exitCode, argv.join(" ")).to.equal(2);
        expect(result.stderr).to.contain("usage:");
      }
    });
  });
});
