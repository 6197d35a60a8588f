/**
 * The large-event figures `npm run bench` measures (bench/large.ts) and records in
 * bench/results.json under `large_events`, read back by `npm run cost -- --sizes classes|github-examples`,
 * so the bench table and the cost report show before and after from one run: ingest CPU by payload
 * size (shipped ÷ format-1 storage), and the stored items' write and read units per size class.
 */
import * as fs from "node:fs";
import type { StorageCost } from "./storageModel";

/** Issue 22's goals. */
export const LARGE_GOALS = {
  /** Ingest CPU and p50 of pull_request.opened, shipped ÷ format 1. */
  large_cpu_ratio: 1.3,
  /** Ingest CPU of the typical 300-byte event, shipped ÷ format 1. */
  typical_cpu_ratio: 1.05,
  /** Write units (write + index + one ack) of pull_request.opened, after ÷ before. */
  large_write_ratio: 0.1,
  /** Write units over GitHub's examples at the median, after ÷ before. */
  github_median_write_ratio: 0.25,
  /** Write units of storing a 300-byte event (table + index). */
  typical_store_write_units: 2,
  /** Read units of a listing page of 25, after ÷ before. */
  listing_ratio: 2,
} as const;

export interface CpuPair {
  /** Process CPU per request, µs, median over rounds. */
  ours_cpu_us: number;
  base_cpu_us: number;
  /** Median over rounds of ours ÷ base in the same round. */
  cpu_ratio: number;
  /** The rounds' ratios, 25th and 75th percentile: how much the machine moved them. */
  cpu_ratio_iqr: [number, number];
  ours_p50_ms: number;
  base_p50_ms: number;
  p50_ratio: number;
}

export interface LargeCpuFigures {
  rounds: number;
  /** POST /events, shipped (ours) ÷ format-1 storage (base), by payload size. */
  by_size: ({ name: string; label: string; payload_bytes: number } & CpuPair)[];
  /** The webhook route with pull_request.opened, shipped ÷ format 1. */
  webhook_large: CpuPair;
  /** pull_request.opened through POST /events, shipped ÷ the minimal floor handler; `off_cpu_ratio`: format 1 ÷ floor. */
  large_vs_floor: CpuPair & { off_cpu_ratio: number };
}

export interface LargeStorageClass {
  name: string;
  label: string;
  payload_bytes: number;
  /** The storage format of the item the shipped bundle sent (1: a map, 2: compressed). */
  after_storage_format: number;
  /** Format 1 with the index projecting ALL, and the shipped item with the INCLUDE index. */
  before: StorageCost;
  after: StorageCost;
  /** Write units (write + index + one ack), after ÷ before. */
  write_ratio: number;
  /** Read units of a listing page of 25 such events. */
  listing_page_25: { before: number; after: number; ratio: number };
}

export interface LargeEventResults {
  cpu: LargeCpuFigures;
  storage: {
    classes: LargeStorageClass[];
    /** The CPU sweep's payload sizes (bench/large/payloads.ts SWEEP_PAYLOAD_BYTES). */
    sweep: LargeStorageClass[];
    /** The smallest sweep size from which on compression saves write units / keeps a listing page within LARGE_GOALS.listing_ratio (null: none). */
    pays_off_from_bytes: { write_units: number | null; listing_within_goal: number | null };
    github_examples: {
      count: number;
      /** Median over the examples of after ÷ before write units. */
      median_write_ratio: number;
      /** The example of median payload size. */
      median_by_size: LargeStorageClass;
      write_units_total: { before: number; after: number };
      /** The worst listing-page ratio over the examples. */
      listing_ratio_max: number;
      /** How many examples' listing page of 25 costs more than LARGE_GOALS.listing_ratio × before, and the largest such payload. */
      listing_over_goal: number;
      largest_payload_listing_over_goal: number;
    };
  };
  goals: typeof LARGE_GOALS;
}

/** The large-event figures of a results file and its date, or undefined when that run had none. */
export function readLargeEvents(file: string): { figures: LargeEventResults; date: string; load?: number } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const results = JSON.parse(fs.readFileSync(file, "utf8")) as { large_events?: LargeEventResults; date?: string; machine?: { load_average_at_start?: number } };
  if (!results.large_events?.storage) return undefined;
  return { figures: results.large_events, date: results.date ?? "unknown", ...(results.machine?.load_average_at_start === undefined ? {} : { load: results.machine.load_average_at_start }) };
}

/** The measured classes as a markdown table (before = format 1 and the ALL index, after = shipped). */
export function renderMeasuredClasses(rows: readonly LargeStorageClass[]): string {
  const wu = (c: StorageCost) => `${c.writeUnits.total} (${c.writeUnits.write} + ${c.writeUnits.indexWrite} + ${c.writeUnits.ack + c.writeUnits.ackIndex})`;
  return [
    "| payload | stored item bytes before → after | write units before (write + index + ack) | after | ratio | listing page of 25, read units before → after | ratio |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.before.itemBytes} → ${r.after.itemBytes}${r.after_storage_format === 2 ? " (compressed)" : ""} | ${wu(r.before)} | ${wu(r.after)} | ${r.write_ratio.toFixed(2)} | ${r.listing_page_25.before} → ${r.listing_page_25.after} | ${r.listing_page_25.ratio.toFixed(2)} |`,
    ),
  ].join("\n");
}

/** The goals of issue 22 that the storage figures decide, each with its value and verdict. */
export function storageGoals(figures: LargeEventResults): { figure: string; value: number; goal: string; met: boolean }[] {
  const byName = (name: string) => figures.storage.classes.find((c) => c.name === name)!;
  const pr = byName("pull_request_opened");
  const typical = byName("typical_300");
  const listingWorst = Math.max(...figures.storage.classes.map((c) => c.listing_page_25.ratio));
  const smallWorst = Math.max(figures.storage.github_examples.listing_ratio_max, ...figures.storage.sweep.map((c) => c.listing_page_25.ratio));
  return [
    { figure: `write units incl. one ack, ${pr.label}, after ÷ before`, value: pr.write_ratio, goal: `≤ ${LARGE_GOALS.large_write_ratio}`, met: pr.write_ratio <= LARGE_GOALS.large_write_ratio },
    { figure: "write units, GitHub examples at the median, after ÷ before", value: figures.storage.github_examples.median_write_ratio, goal: `≤ ${LARGE_GOALS.github_median_write_ratio}`, met: figures.storage.github_examples.median_write_ratio <= LARGE_GOALS.github_median_write_ratio },
    { figure: "write units to store a 300 B event (table + index)", value: typical.after.writeUnits.write + typical.after.writeUnits.indexWrite, goal: `= ${LARGE_GOALS.typical_store_write_units}`, met: typical.after.writeUnits.write + typical.after.writeUnits.indexWrite === LARGE_GOALS.typical_store_write_units },
    { figure: "listing page of 25, read units after ÷ before (worst size class)", value: listingWorst, goal: `≤ ${LARGE_GOALS.listing_ratio}`, met: listingWorst <= LARGE_GOALS.listing_ratio },
    { figure: "  … worst over the sweep (512 B–8 KB) and GitHub's examples", value: smallWorst, goal: `≤ ${LARGE_GOALS.listing_ratio}`, met: smallWorst <= LARGE_GOALS.listing_ratio },
  ];
}
