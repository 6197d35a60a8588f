/** The large-event section of `npm run bench`'s table (bench/run.ts), with issue 22's goals. */
import { LARGE_GOALS, storageGoals, type LargeEventResults } from "../../cost/largeEvents";
import type { Row } from "../lib/report";
import { COMPRESS_MIN_PAYLOAD_BYTES } from "../../handlers/lib/events/record";

export function largeEventRows(figures: LargeEventResults): Row[] {
  const section = "large";
  const size = (name: string) => figures.cpu.by_size.find((c) => c.name === name)!;
  const typical = size("typical_300");
  const large = size("pull_request_opened");
  const within = (value: number, goal: number) => value <= goal;
  return [
    { section, figure: `${large.label}: ingest CPU, compressed ÷ format 1 (IQR ${large.cpu_ratio_iqr.join("–")})`, value: large.cpu_ratio, goal: `≤ ${LARGE_GOALS.large_cpu_ratio}`, met: within(large.cpu_ratio, LARGE_GOALS.large_cpu_ratio) },
    { section, figure: "  … ingest p50, compressed ÷ format 1", value: large.p50_ratio, goal: `≤ ${LARGE_GOALS.large_cpu_ratio}`, met: within(large.p50_ratio, LARGE_GOALS.large_cpu_ratio) },
    { section, figure: "  … CPU µs per request (compressed / format 1 / floor)", value: `${large.ours_cpu_us} / ${large.base_cpu_us} / ${figures.cpu.large_vs_floor.base_cpu_us}` },
    { section, figure: "  … CPU, compressed ÷ minimal floor (format 1 ÷ floor)", value: `${figures.cpu.large_vs_floor.cpu_ratio} (${figures.cpu.large_vs_floor.off_cpu_ratio})` },
    { section, figure: "  … webhook route: CPU, compressed ÷ format 1", value: figures.cpu.webhook_large.cpu_ratio, goal: `≤ ${LARGE_GOALS.large_cpu_ratio}`, met: within(figures.cpu.webhook_large.cpu_ratio, LARGE_GOALS.large_cpu_ratio) },
    { section, figure: `300 B event: ingest CPU, shipped ÷ format 1 (IQR ${typical.cpu_ratio_iqr.join("–")})`, value: typical.cpu_ratio, goal: `≤ ${LARGE_GOALS.typical_cpu_ratio}`, met: within(typical.cpu_ratio, LARGE_GOALS.typical_cpu_ratio) },
    ...figures.storage.sweep.map((s): Row => {
      const cpu = size(s.name);
      return {
        section,
        figure: `  sweep ${s.label}: CPU ratio (IQR); write units before → after; listing ratio`,
        value: `${cpu.cpu_ratio} (${cpu.cpu_ratio_iqr.join("–")}); ${s.before.writeUnits.total} → ${s.after.writeUnits.total}; ${s.listing_page_25.ratio}`,
      };
    }),
    {
      section,
      figure: `  compression saves write units from / keeps listing ≤ ${LARGE_GOALS.listing_ratio}× from (payload B; threshold ${COMPRESS_MIN_PAYLOAD_BYTES})`,
      value: `${figures.storage.pays_off_from_bytes.write_units ?? "never"} / ${figures.storage.pays_off_from_bytes.listing_within_goal ?? "never"}`,
    },
    ...storageGoals(figures).map((g): Row => ({ section, figure: g.figure, value: g.value, goal: g.goal, met: g.met })),
    {
      section,
      figure: "  … GitHub examples whose listing page passes 2× (largest payload)",
      value: `${figures.storage.github_examples.listing_over_goal} of ${figures.storage.github_examples.count} (${figures.storage.github_examples.largest_payload_listing_over_goal} B)`,
    },
  ];
}
