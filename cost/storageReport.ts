/**
 * `npm run cost -- --avg-bytes N` (without --events-per-month) and `npm run cost -- --sizes
 * github-examples`: the storage path of one event before and after ADR 0035, per size class or
 * over GitHub's 329 example payloads (their real sizes and compression), from storageModel.ts.
 */
import type { Prices } from "./prices";
import { githubExamples, githubStylePayload } from "./githubPayloads";
import { storageCost, type StorageCost, type StoragePrices } from "./storageModel";

export const SIZE_CLASSES = [300, 24 * 1024, 390 * 1024, 1024 * 1024, 5 * 1024 * 1024] as const;

export interface StorageRow {
  label: string;
  before: StorageCost;
  after: StorageCost;
}

export function storagePrices(prices: Prices): StoragePrices {
  return {
    writeUnitUsdPerMillion: prices.dynamodb_per_million_write_request_units,
    readUnitUsdPerMillion: prices.dynamodb_per_million_read_request_units,
    storageUsdPerGbMonth: prices.dynamodb_storage_per_gb_month,
    s3PutUsdPerMillion: prices.s3_per_million_put_requests,
    s3GetUsdPerMillion: prices.s3_per_million_get_requests,
    s3StorageUsdPerGbMonth: prices.s3_storage_per_gb_month,
  };
}

/** One row per byte size, payloads GitHub-style (storageModel's record around them). */
export function sizeRows(sizes: readonly number[], prices: StoragePrices): StorageRow[] {
  return sizes.map((bytes) => {
    const text = githubStylePayload(bytes);
    return { label: label(bytes), before: storageCost(text, "before", prices), after: storageCost(text, "after", prices) };
  });
}

/** The GitHub examples: median, p90 and largest by payload size, and the mean over all of them. */
export function githubRows(prices: StoragePrices): { rows: StorageRow[]; count: number; meanBefore: number; meanAfter: number; medianWriteRatio: number } {
  const all = githubExamples()
    .map(({ text }) => ({ text, before: storageCost(text, "before", prices), after: storageCost(text, "after", prices) }))
    .sort((a, b) => a.before.payloadBytes - b.before.payloadBytes);
  const at = (q: number) => all[Math.floor(q * (all.length - 1))]!;
  const row = (name: string, x: (typeof all)[number]) => ({ label: `${name} (${label(x.before.payloadBytes)})`, before: x.before, after: x.after });
  const ratios = all.map((x) => x.after.writeUnits.total / x.before.writeUnits.total).sort((a, b) => a - b);
  return {
    rows: [row("smallest", all[0]!), row("median", at(0.5)), row("p90", at(0.9)), row("largest", all[all.length - 1]!)],
    count: all.length,
    meanBefore: all.reduce((s, x) => s + x.before.usdPerMillion, 0) / all.length,
    meanAfter: all.reduce((s, x) => s + x.after.usdPerMillion, 0) / all.length,
    medianWriteRatio: ratios[Math.floor(ratios.length / 2)]!,
  };
}

export function renderStorageRows(rows: StorageRow[]): string {
  const lines = [
    "| payload | write units before (write + index + ack) | after | ratio | listing read units per event before → after | claim check | $ per million before | after |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const { label: name, before, after } of rows) {
    const wu = (c: StorageCost) => `${c.writeUnits.total} (${c.writeUnits.write} + ${c.writeUnits.indexWrite} + ${c.writeUnits.ack + c.writeUnits.ackIndex})`;
    lines.push(
      `| ${name} | ${before.itemBytes > 400 * 1024 ? "refused (item > 400 KB)" : wu(before)} | ${wu(after)} | ${before.itemBytes > 400 * 1024 ? "—" : (after.writeUnits.total / before.writeUnits.total).toFixed(2)} | ${before.listReadUnits.toFixed(2)} → ${after.listReadUnits.toFixed(2)} | ${after.claimChecked ? `S3 (${label(after.objectBytes)})` : "no"} | ${before.itemBytes > 400 * 1024 ? "—" : `$${before.usdPerMillion.toFixed(2)}`} | $${after.usdPerMillion.toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

function label(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}
