/**
 * The dependency rule of handlers/ (docs/ARCHITECTURE.md, "Layers of handlers/lib"), checked over
 * the real import graph: every relative import of every file under handlers/ is resolved, and
 * each must stay in its own folder or run down to a lower layer. The layers are written here
 * literally, not imported, so a change to the rule is a change to this test.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const HANDLERS = path.join(ROOT, "handlers");
/** The event catalogue (events/ at the root): bundled into the entries that validate events, and only into them. */
const CATALOGUE = path.join(ROOT, "events");

/** Top to bottom. A file may import its own folder or any folder on a LOWER line; folders on one line are peers and may not import each other. */
const LAYERS: string[][] = [
  ["entries"], // handlers/*.ts
  ["lib/webhooks"],
  ["lib/api"],
  ["lib/queue", "lib/pipeline", "lib/delivery"],
  ["lib/store", "lib/auth"],
  ["lib/events"],
  ["lib/http"],
  ["lib/ops"],
  ["lib/primitives"],
  ["routes"], // handlers/routes.ts: the route table, a fact every layer may read
];

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p) : d.name.endsWith(".ts") ? [p] : [];
  });
}

/** The folder a file belongs to, as named in LAYERS. */
function folderOf(file: string): string {
  const rel = path.relative(HANDLERS, file).split(path.sep).join("/");
  if (rel === "routes.ts") return "routes";
  if (!rel.includes("/")) return "entries";
  return rel.split("/").slice(0, 2).join("/");
}

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((line) => line.includes(folder));
  if (i < 0) throw new Error(`handlers/${folder} has no layer: add it to LAYERS here and to docs/ARCHITECTURE.md`);
  return i;
}

interface Edge { from: string; to: string; spec: string }

function importsOf(file: string): { relative: Edge[]; bare: string[] } {
  const src = fs.readFileSync(file, "utf8");
  const relative: Edge[] = [];
  const bare: string[] = [];
  for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|^import\s+)["']([^"']+)["']/gm)) {
    const spec = m[1]!;
    if (!spec.startsWith(".")) { bare.push(spec); continue; }
    const base = path.resolve(path.dirname(file), spec);
    const target = [base + ".ts", path.join(base, "index.ts"), base].find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
    if (!target) throw new Error(`${path.relative(ROOT, file)} imports ${spec}, which does not resolve`);
    relative.push({ from: file, to: target, spec });
  }
  return { relative, bare };
}

const files = filesUnder(HANDLERS);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => path.relative(ROOT, f);

describe("handlers/ import rule (docs/ARCHITECTURE.md)", () => {
  it("places every folder of handlers/lib in a layer", () => {
    for (const f of files) expect(() => layerOf(folderOf(f)), rel(f)).not.to.throw();
  });

  it("imports only its own folder or a lower layer, never up and never sideways to a peer", () => {
    const violations: string[] = [];
    for (const [file, { relative }] of graph) {
      for (const e of relative) {
        if (e.to.startsWith(CATALOGUE + path.sep) && folderOf(file) === "entries") continue;
        if (!e.to.startsWith(HANDLERS + path.sep)) { violations.push(`${rel(file)} → ${e.spec} leaves handlers/`); continue; }
        const [a, b] = [folderOf(file), folderOf(e.to)];
        if (a === b) continue;
        if (layerOf(b) <= layerOf(a)) violations.push(`${rel(file)} (${a}) → ${rel(e.to)} (${b})`);
      }
    }
    expect(violations).to.deep.equal([]);
  });

  it("has no import cycle between files", () => {
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") { cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(" → ")); return; }
      state.set(f, "open");
      for (const e of graph.get(f)?.relative ?? []) visit(e.to, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).to.deep.equal([]);
  });

  it("never imports Pulumi, components/, local/ or cli/", () => {
    const bad: string[] = [];
    for (const [file, { bare }] of graph) for (const s of bare) if (s.startsWith("@pulumi/")) bad.push(`${rel(file)} → ${s}`);
    expect(bad).to.deep.equal([]);
  });

  it("lets the catalogue (events/) import only zod and handlers/lib/events, never Pulumi or the rest of the program", () => {
    const bad: string[] = [];
    for (const file of filesUnder(CATALOGUE)) {
      const { relative, bare } = importsOf(file);
      for (const s of bare) if (s !== "zod/mini" && s !== "zod" && s !== "zod/locales") bad.push(`${rel(file)} → ${s}`);
      for (const e of relative) {
        const inside = e.to.startsWith(CATALOGUE + path.sep) || e.to.startsWith(path.join(HANDLERS, "lib", "events") + path.sep);
        if (!inside) bad.push(`${rel(file)} → ${e.spec}`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it("would catch a back edge: the rule rejects an event module importing a use case", () => {
    // The check above is only worth something if it can fail: one synthetic upward edge must be found.
    expect(layerOf(folderOf(path.join(HANDLERS, "lib/api/ingestEvent.ts")))).to.be.lessThan(layerOf(folderOf(path.join(HANDLERS, "lib/events/record.ts"))));
  });
});
