/** The run's output: a table on stdout and bench/results.json. */
import * as fs from "node:fs";
import * as path from "node:path";
import { RESULTS_FILE } from "../../cost/measured";

export interface Row {
  section: string;
  figure: string;
  value: string | number;
  goal?: string;
  /** undefined when the figure has no goal. */
  met?: boolean;
}

/** The tracked results file; its home is the cost model that reads it (cost/measured.ts). */
export { RESULTS_FILE };

export function printTable(rows: readonly Row[]): void {
  const cells = rows.map((r) => [r.section, r.figure, String(r.value), r.goal ?? "", r.met === undefined ? "" : r.met ? "met" : "MISSED"]);
  const header = ["section", "figure", "value", "goal", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const c of cells) console.log(line(c));
}

export function writeResults(results: object, file = RESULTS_FILE): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
}
