/**
 * `npm run replay`: delivers stored events again, in bulk. Selects with the status index (per
 * status, newest first), filters by type pattern and time window, replays at a bounded rate with a
 * progress line on stderr. Two ways to reach a stack, one replay (docs/adr/0042):
 *
 *   - the API (default: the local stack on DATA_DIR and its key; `--url URL --api-key KEY` for a
 *     deployed one): GET /events and POST /events/{id}/replay, so the route's checks apply;
 *   - the stack's own resources with your AWS credentials (`--stack NAME [--region R]`, the SDK's
 *     default credential chain): the replay function's environment (lambda:GetFunctionConfiguration
 *     on `event-ingestion-NAME-replay`, named as the deploy names it) says which events table,
 *     subscriptions (queues, filters) and deliveries table the route uses; the events are listed with
 *     the read route's EventLister and each is replayed by `replayEvent`, the route's own use case,
 *     wired by `replayDependencies`, the route's own wiring. No API key is needed.
 *
 *   npm run replay -- [--status failed] [--type 'order.*'] [--since ISO] [--until ISO]
 *                     [--subscription NAME] [--dry-run] [--json] [--rate N]
 *                     [--url URL --api-key KEY | --stack NAME [--region R]]
 *
 * AWS_ENDPOINT_URL_LAMBDA / _DYNAMODB / _SQS / _S3 point `--stack` at other endpoints (the local
 * stack's Lambda, dynalite and SQS: `--stack local`, as the tests run it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { replayDependencies, replayEvent } from "../handlers/lib/delivery/replay";
import { matches, SUBSCRIPTION_NAME } from "../handlers/lib/delivery/subscriptions";
import type { EventStatus } from "../handlers/lib/events/record";
import { EVENT_STATUSES } from "../handlers/lib/events/schema";
import { storeConfigFromEnv } from "../handlers/lib/ops/config";
import { errorName } from "../handlers/lib/primitives/faults";
import { ENV } from "../handlers/lib/primitives/tables";
import { createSqsClient } from "../handlers/lib/queue/queueSender";
import { EventLister } from "../handlers/lib/store/listing";
import { createS3Client, S3PayloadObjects } from "../handlers/lib/store/payloadObjects";
import { createDocumentClient } from "../handlers/lib/store/store";
import { deriveName } from "../components/naming";
import { PROJECT } from "../local/config";
import { LOCAL_KEY_FILE, runningLocalStack } from "../local/stack";

const USAGE = `usage: npm run replay -- [--status pending|delivered|failed|replayed] [--type TYPE_OR_PREFIX*] [--since ISO] [--until ISO]
                         [--subscription NAME] [--dry-run] [--json] [--rate PER_SECOND]
                         [--url URL --api-key KEY | --stack NAME [--region REGION]]
Replays the selected events (new webhook-id, full retry schedule, status replayed).
  --url URL --api-key KEY   through the API (POST /events/{id}/replay); the key needs scopes read and replay
  --stack NAME              with your AWS credentials, on the deployed stack's own tables and queues
                            (the replay function ${PROJECT}-NAME-replay says which; docs/OPERATIONS.md lists the permissions)
  --region REGION           the deployed stack's region (or AWS_REGION)
  --rate N                  replays per second at most (default 20)
Default target: the local stack on DATA_DIR (.data), through its API.`;

export interface ReplayCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What selection needs of an event. */
interface Listed {
  event_id: string;
  event_type: string;
  status: string;
  created_at: string;
}

interface ReplayResult {
  ok: boolean;
  /** Why it was not replayed: the route's problem code (`event_not_found`, `no_matching_subscription`, …) or the error. */
  code?: string;
  /** The API's answer (`--url`). */
  http_status?: number;
  deliveries?: { subscription: string; webhook_id: string }[];
}

/** Where events are listed and replayed: the API, or the stack's resources. */
interface ReplayBackend {
  /** `--url` or `--stack`, and what it reached. */
  target: { mode: "url"; url: string } | { mode: "stack"; stack: string; region: string; function: string };
  /** One page of the status index for `status`, newest first. */
  page(status: EventStatus, exactType: string | undefined, cursor: string | undefined): Promise<{ items: Listed[]; next: string | undefined }>;
  replay(eventId: string, subscription: string | undefined): Promise<ReplayResult>;
  close(): void;
}

export interface ReplayReport {
  target: ReplayBackend["target"];
  selected: number;
  replayed: number;
  dry_run: boolean;
  events: (Listed & { outcome: "selected" | "replayed" | "refused" } & Omit<ReplayResult, "ok">)[];
}

class UsageError extends Error {}
class TargetError extends Error {}

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
        stack: { type: "string" },
        region: { type: "string" },
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

  let backend: ReplayBackend;
  try {
    backend = values.stack !== undefined ? await stackBackend(values.stack, values, env) : apiBackend(values, env);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message);
    if (error instanceof TargetError) return { exitCode: 1, stdout: "", stderr: `replay: ${error.message}\n` };
    throw error;
  }
  try {
    // Select: the status index, newest first, per status; the type pattern and the window filter.
    const filter = values.type === undefined ? undefined : { filters: [values.type] };
    const exactType = values.type !== undefined && !values.type.endsWith("*") ? values.type : undefined;
    const selected: Listed[] = [];
    for (const status of values.status ? [values.status as EventStatus] : EVENT_STATUSES) {
      let cursor: string | undefined;
      do {
        const page = await backend.page(status, exactType, cursor);
        let older = false;
        for (const item of page.items) {
          const at = Date.parse(item.created_at);
          if (since !== undefined && at < since) older = true;
          if ((since !== undefined && at < since) || (until !== undefined && at > until)) continue;
          if (filter && !matches(filter, item.event_type)) continue;
          selected.push({ event_id: item.event_id, event_type: item.event_type, status: item.status, created_at: item.created_at });
        }
        cursor = older ? undefined : page.next;
        if (!values.json) progress(`\rselected ${selected.length} (${status})`);
      } while (cursor);
    }
    if (!values.json) progress("\n");

    const report: ReplayReport = { target: backend.target, selected: selected.length, replayed: 0, dry_run: values["dry-run"], events: [] };
    if (values["dry-run"]) {
      report.events = selected.map((e) => ({ ...e, outcome: "selected" }));
    } else {
      const spacingMs = 1000 / rate;
      let next = Date.now();
      for (const [i, event] of selected.entries()) {
        const wait = next - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        next = Math.max(next, Date.now()) + spacingMs;
        const { ok, ...result } = await backend.replay(event.event_id, values.subscription);
        if (ok) report.replayed += 1;
        report.events.push({ ...event, outcome: ok ? "replayed" : "refused", ...result });
        const refused = i + 1 - report.replayed;
        if (!values.json) progress(`\rreplayed ${report.replayed}/${selected.length}${refused ? ` (${refused} refused)` : ""}`);
      }
      if (!values.json && selected.length > 0) progress("\n");
    }
    const refused = report.events.filter((e) => e.outcome === "refused");
    const text = values["dry-run"]
      ? [`${selected.length} event(s) would be replayed:`, ...selected.map((e) => `  ${e.event_id}  ${e.status.padEnd(9)} ${e.event_type}  ${e.created_at}`)].join("\n")
      : [`Replayed ${report.replayed} of ${selected.length} selected event(s).`, ...refused.map((e) => `  ${e.event_id}: ${e.http_status ?? ""} ${e.code ?? ""}`)].join("\n");
    return { exitCode: refused.length > 0 ? 1 : 0, stdout: (values.json ? JSON.stringify(report, null, 2) : text) + "\n", stderr: "" };
  } catch (error) {
    if (error instanceof TargetError) return { exitCode: 1, stdout: "", stderr: `replay: ${error.message}\n` };
    const name = errorName(error) ?? "Error";
    const hint = name === "AccessDeniedException" || name === "AccessDenied" ? " (the permissions `--stack` needs are in docs/OPERATIONS.md, Replaying deliveries)" : "";
    return { exitCode: 1, stdout: "", stderr: `replay: ${name}: ${(error as Error).message}${hint}\n` };
  } finally {
    backend.close();
  }
}

/** Through the API: GET /events to select, POST /events/{id}/replay for each. */
function apiBackend(values: { url?: string; "api-key"?: string; region?: string }, env: NodeJS.ProcessEnv): ReplayBackend {
  if (values.region !== undefined) throw new UsageError("--region goes with --stack");
  const dataDir = env.DATA_DIR ?? ".data";
  const url = values.url ?? runningLocalStack(dataDir)?.url;
  if (!url) throw new TargetError(`no --url or --stack, and no local stack is running on ${dataDir} (start npm run dev)`);
  let apiKey = values["api-key"] ?? env.EVENT_INGESTION_API_KEY;
  if (!apiKey && !values.url) {
    try {
      apiKey = fs.readFileSync(path.join(dataDir, LOCAL_KEY_FILE), "utf8").trim();
    } catch {
      // reported below
    }
  }
  if (!apiKey) throw new UsageError("no --api-key (or EVENT_INGESTION_API_KEY); it needs scopes read and replay");
  const base = url.replace(/\/$/, "");
  const headers = { authorization: `Bearer ${apiKey}` };
  return {
    target: { mode: "url", url: base },
    async page(status, exactType, cursor) {
      const query = new URLSearchParams({ status, limit: "100", ...(exactType ? { event_type: exactType } : {}), ...(cursor ? { cursor } : {}) });
      const response = await fetch(`${base}/events?${query}`, { headers });
      if (response.status !== 200) throw new TargetError(`GET /events answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      const page = (await response.json()) as { items: Listed[]; next_cursor: string | null };
      return { items: page.items, next: page.next_cursor ?? undefined };
    },
    async replay(eventId, subscription) {
      const suffix = subscription ? `?subscription=${encodeURIComponent(subscription)}` : "";
      const response = await fetch(`${base}/events/${eventId}/replay${suffix}`, { method: "POST", headers });
      const body = (await response.json().catch(() => ({}))) as { code?: string; deliveries?: ReplayResult["deliveries"] };
      return { ok: response.status === 202, http_status: response.status, ...(body.code ? { code: body.code } : {}), ...(body.deliveries ? { deliveries: body.deliveries } : {}) };
    },
    close() {},
  };
}

/** The replay function of deployed stack `stack`, named by the deploy's rule (EventIngestionApi: purpose = handler name). */
export function deployedReplayFunctionName(stack: string, region: string): string {
  return deriveName({ project: PROJECT, stack, region, purpose: "replay", kind: "lambdaFunction" });
}

/**
 * With the caller's AWS credentials: the replay function's environment names the resources; the
 * read route's lister selects; the route's use case replays.
 */
async function stackBackend(stack: string, values: { url?: string; "api-key"?: string; region?: string }, env: NodeJS.ProcessEnv): Promise<ReplayBackend> {
  if (values.url !== undefined || values["api-key"] !== undefined) throw new UsageError("use either --url/--api-key or --stack, not both");
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError("--stack needs --region (or AWS_REGION)");
  const functionName = deployedReplayFunctionName(stack, region);
  const endpoint = (service: string) => (env[`AWS_ENDPOINT_URL_${service}`] ? { endpoint: env[`AWS_ENDPOINT_URL_${service}`] } : {});
  const lambda = new LambdaClient({ region, maxAttempts: 3, ...endpoint("LAMBDA") });
  let variables: Record<string, string>;
  try {
    const configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    variables = configuration.Environment?.Variables ?? {};
  } catch (error) {
    const name = errorName(error) ?? "Error";
    if (name === "ResourceNotFoundException") throw new TargetError(`no function ${functionName} in ${region}: is stack ${stack} deployed there (and --region right), with subscriptions (without any it has no replay function)?`);
    if (name === "AccessDeniedException") throw new TargetError(`your credentials may not call lambda:GetFunctionConfiguration on ${functionName} (docs/OPERATIONS.md, Replaying deliveries)`);
    throw new TargetError(`reading ${functionName}'s configuration failed: ${name}: ${(error as Error).message}`);
  } finally {
    lambda.destroy();
  }
  const doc = createDocumentClient({ region, ...endpoint("DYNAMODB") });
  const sqs = createSqsClient({ region, ...endpoint("SQS") });
  const close = () => {
    doc.destroy();
    sqs.destroy();
  };
  try {
    const deps = replayDependencies(variables, { doc, sqs });
    const store = storeConfigFromEnv(variables);
    const bucket = variables[ENV.payloadBucket];
    // Claim-checked events (ADR 0035) are listed with their payload, as the read route lists them.
    const payloadObjects = bucket ? new S3PayloadObjects(createS3Client({ region, ...endpoint("S3") }, env), bucket) : undefined;
    const lister = new EventLister(doc, store.eventsTable, store.statusIndexShards, undefined, payloadObjects);
    return {
      target: { mode: "stack", stack, region, function: functionName },
      async page(status, exactType, cursor) {
        const page = await lister.list({ statuses: [status], ...(exactType ? { eventType: exactType } : {}), limit: 100, order: "newest", ...(cursor ? { cursor } : {}) });
        return { items: page.items, next: page.nextCursor ?? undefined };
      },
      async replay(eventId, subscription) {
        try {
          const outcome = await replayEvent(deps, eventId, subscription);
          return outcome.ok ? { ok: true, deliveries: outcome.deliveries } : { ok: false, code: outcome.code };
        } catch (error) {
          return { ok: false, code: errorName(error) ?? "Error" };
        }
      },
      close,
    };
  } catch (error) {
    close();
    throw new TargetError(`${functionName}'s environment does not describe a stack this command can replay on: ${(error as Error).message}`);
  }
}

function fail(message: string): ReplayCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // see local/dev.ts
  runReplayCli(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
