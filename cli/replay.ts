/**
 * `npm run replay`: delivers stored events again, in bulk, through the API's own
 * POST /events/{id}/replay (so the replay function's checks, status change and webhook-id rule
 * apply exactly as for one event). Selects with GET /events (status index), then filters by type
 * pattern and time window, replays at a bounded rate with a progress line on stderr.
 *
 *   npm run replay -- [--status failed] [--type 'order.*'] [--since ISO] [--until ISO]
 *                     [--subscription NAME] [--dry-run] [--json] [--rate N]
 *                     [--url URL --api-key KEY]   (default: the local stack on DATA_DIR and its key)
 *
 * A deployed stack: --url https://<api>/ --api-key <a key with scopes read and replay>
 * (`npm run keys -- create --table … --scopes read,replay`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { matches, SUBSCRIPTION_NAME } from "../handlers/lib/delivery/subscriptions";
import { EVENT_STATUSES } from "../handlers/lib/events/schema";
import { LOCAL_KEY_FILE, runningLocalStack } from "../local/stack";

const USAGE = `usage: npm run replay -- [--status pending|delivered|failed|replayed] [--type TYPE_OR_PREFIX*] [--since ISO] [--until ISO]
                         [--subscription NAME] [--dry-run] [--json] [--rate PER_SECOND] [--url URL --api-key KEY]
Replays the selected events through POST /events/{id}/replay. Default target: the local stack on DATA_DIR (.data).`;

export interface ReplayCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface Listed {
  event_id: string;
  event_type: string;
  status: string;
  created_at: string;
}

export interface ReplayReport {
  selected: number;
  replayed: number;
  dry_run: boolean;
  events: { event_id: string; event_type: string; outcome: number | "selected"; code?: string }[];
}

export async function runReplayCli(argv: string[], env: NodeJS.ProcessEnv = process.env, progress: (line: string) => void = (l) => process.stderr.write(l)): Promise<ReplayCliResult> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        status: { type: "string" },
        type: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        subscription: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        rate: { type: "string", default: "20" },
        url: { type: "string" },
        "api-key": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (values.help) return { exitCode: 0, stdout: USAGE + "\n", stderr: "" };
  if (values.status !== undefined && !(EVENT_STATUSES as readonly string[]).includes(values.status)) return fail(`--status must be one of ${EVENT_STATUSES.join(", ")}`);
  if (values.subscription !== undefined && !SUBSCRIPTION_NAME.test(values.subscription)) return fail(`--subscription must match ${SUBSCRIPTION_NAME.source}`);
  const since = values.since === undefined ? undefined : Date.parse(values.since);
  const until = values.until === undefined ? undefined : Date.parse(values.until);
  if (Number.isNaN(since) || Number.isNaN(until)) return fail("--since and --until take ISO 8601 times, e.g. 2026-12-07T10:00:00Z");
  const rate = Number(values.rate);
  if (!(rate > 0)) return fail("--rate must be a positive number of replays per second");
  if (values.status === undefined && values.type === undefined && since === undefined && until === undefined) {
    return fail("select events with at least one of --status, --type, --since, --until (replaying everything is rarely meant)");
  }

  const dataDir = env.DATA_DIR ?? ".data";
  const url = values.url ?? runningLocalStack(dataDir)?.url;
  if (!url) return fail(`no --url, and no local stack is running on ${dataDir} (start npm run dev)`);
  let apiKey = values["api-key"] ?? env.EVENT_INGESTION_API_KEY;
  if (!apiKey && !values.url) {
    try {
      apiKey = fs.readFileSync(path.join(dataDir, LOCAL_KEY_FILE), "utf8").trim();
    } catch {
      // reported below
    }
  }
  if (!apiKey) return fail("no --api-key (or EVENT_INGESTION_API_KEY); it needs scopes read and replay");
  const base = url.replace(/\/$/, "");
  const headers = { authorization: `Bearer ${apiKey}` };

  // Select: the status index, newest first, per status; the type pattern and the window filter.
  const filter = values.type === undefined ? undefined : { filters: [values.type] };
  const exactType = values.type !== undefined && !values.type.endsWith("*") ? values.type : undefined;
  const selected: Listed[] = [];
  for (const status of values.status ? [values.status] : EVENT_STATUSES) {
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ status, limit: "100", ...(exactType ? { event_type: exactType } : {}), ...(cursor ? { cursor } : {}) });
      const response = await fetch(`${base}/events?${query}`, { headers });
      if (response.status !== 200) return { exitCode: 1, stdout: "", stderr: `GET /events answered ${response.status}: ${(await response.text()).slice(0, 300)}\n` };
      const page = (await response.json()) as { items: Listed[]; next_cursor: string | null };
      let older = false;
      for (const item of page.items) {
        const at = Date.parse(item.created_at);
        if (since !== undefined && at < since) older = true;
        if ((since !== undefined && at < since) || (until !== undefined && at > until)) continue;
        if (filter && !matches(filter, item.event_type)) continue;
        selected.push(item);
      }
      cursor = older ? undefined : (page.next_cursor ?? undefined);
    } while (cursor);
  }

  const report: ReplayReport = { selected: selected.length, replayed: 0, dry_run: values["dry-run"], events: [] };
  if (values["dry-run"]) {
    report.events = selected.map((e) => ({ event_id: e.event_id, event_type: e.event_type, outcome: "selected" }));
  } else {
    const suffix = values.subscription ? `?subscription=${encodeURIComponent(values.subscription)}` : "";
    const spacingMs = 1000 / rate;
    let next = Date.now();
    for (const [i, event] of selected.entries()) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      next = Math.max(next, Date.now()) + spacingMs;
      const response = await fetch(`${base}/events/${event.event_id}/replay${suffix}`, { method: "POST", headers });
      const body = (await response.json().catch(() => ({}))) as { code?: string };
      if (response.status === 202) report.replayed += 1;
      report.events.push({ event_id: event.event_id, event_type: event.event_type, outcome: response.status, ...(body.code ? { code: body.code } : {}) });
      if (!values.json) progress(`\rreplayed ${report.replayed}/${selected.length}${i + 1 - report.replayed ? ` (${i + 1 - report.replayed} refused)` : ""}`);
    }
    if (!values.json && selected.length > 0) progress("\n");
  }
  const refused = report.events.filter((e) => typeof e.outcome === "number" && e.outcome !== 202);
  const text = values["dry-run"]
    ? [`${selected.length} event(s) would be replayed:`, ...selected.map((e) => `  ${e.event_id}  ${e.status.padEnd(9)} ${e.event_type}  ${e.created_at}`)].join("\n")
    : [`Replayed ${report.replayed} of ${selected.length} selected event(s).`, ...refused.map((e) => `  ${e.event_id}: ${e.outcome} ${e.code ?? ""}`)].join("\n");
  return { exitCode: refused.length > 0 ? 1 : 0, stdout: (values.json ? JSON.stringify(report, null, 2) : text) + "\n", stderr: "" };
}

function fail(message: string): ReplayCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  runReplayCli(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
