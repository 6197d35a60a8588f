/**
 * `npm run dev`: the local stack on this machine. PORT (3000), DYNAMODB_PORT (8000) and DATA_DIR
 * (.data) configure it; Ctrl-C stops it cleanly and the data stays for the next start.
 * INGEST_MODE=queued runs queued ingestion (the local SQS on SQS_PORT, 9324, and the processor).
 * CATALOG_MODE and UNKNOWN_EVENT_TYPES override the stack's catalogMode / unknownEventTypes.
 */
import * as path from "node:path";
import { ingestModeValue } from "./config";
import { catalogPolicy } from "../components/configValues";
import { DataDirInUseError, startLocalStack } from "./stack";
import type { RequestLogEntry } from "./gateway";
import { SCOPES } from "../handlers/routes";
import { parseCommandLineOrExit } from "../cli/commandLine";
import { snsPublishCommand, sqsQueueAttributesCommand } from "./awsCli";

const USAGE = `usage: npm run dev [-- --help]

Runs the local stack until Ctrl-C; the data stays in DATA_DIR for the next start.
Settings are environment variables:
  PORT (3000)            the API
  DYNAMODB_PORT (8000)   the local DynamoDB
  DATA_DIR (.data)       events, keys, queues; $DATA_DIR/local-stack.json names every endpoint
  INGEST_MODE=queued     queued ingestion: the local SQS on SQS_PORT (9324) and the processor
  PIPELINE=true          the example SNS pipeline, its SNS endpoint on SNS_PORT (9911)`;
parseCommandLineOrExit("dev", process.argv.slice(2), {}, USAGE);

const port = Number(process.env.PORT ?? 3000);
const dynamoPort = Number(process.env.DYNAMODB_PORT ?? 8000);
const dataDir = process.env.DATA_DIR ?? ".data";
const snsPort = Number(process.env.SNS_PORT ?? 9911);
/** PIPELINE=true runs the example SNS pipeline even though Pulumi.dev.yaml leaves config pipeline off. */
const pipeline = process.env.PIPELINE === undefined ? {} : { pipeline: process.env.PIPELINE === "true" };
const sqsPort = Number(process.env.SQS_PORT ?? 9324);
const pretty = process.stdout.isTTY === true;

function logRequest(entry: RequestLogEntry): void {
  const duration = Math.round(entry.duration_ms * 10) / 10;
  if (pretty) {
    process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${entry.method.padEnd(6)} ${entry.path} → ${entry.status} ${duration} ms  ${entry.request_id}\n`);
  } else {
    process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), level: "INFO", message: "http", ...entry, duration_ms: duration }) + "\n");
  }
}

// The AWS SDK warns that versions after January 2027 need Node 22. Lambda runs nodejs24.x; on a
// Node 20 laptop the warning (once per bundle) is noise. The SDK's own switch turns it off.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// DATA_DIR holds every event and the API keys table: what the stack creates (LevelDB files
// included) is for this user only.
process.umask(0o077);

// Signal handlers from the first moment: a SIGTERM during the start (bundling takes seconds) must
// still close what was opened and release DATA_DIR, not kill the process with the lock held.
// package.json runs this file as `exec node --import tsx local/dev.ts`: with `exec` the shell npm
// starts becomes this process, so the SIGINT / SIGTERM npm forwards arrive here; without it they
// would stop only the shell, and this process would keep its ports and the lock.
let running: Awaited<ReturnType<typeof startLocalStack>> | undefined;
let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) return; // Ctrl-C reaches both npm (which forwards it) and this process
  stopping = true;
  process.stdout.write(`\n${signal}: stopping; data stays in ${dataDir}\n`);
  if (running) closeAndExit(running); // else main() does, as soon as the start has finished
}
function closeAndExit(stack: NonNullable<typeof running>): void {
  stack.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`error while stopping: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

async function main(): Promise<void> {
  const ingestMode = process.env.INGEST_MODE === undefined ? undefined : ingestModeValue(process.env.INGEST_MODE, "INGEST_MODE");
  const scaleValue = process.env.DELIVERY_SCHEDULE_SCALE === undefined ? undefined : Number(process.env.DELIVERY_SCHEDULE_SCALE);
  if (scaleValue !== undefined && !(scaleValue > 0 && scaleValue <= 1)) throw new Error("DELIVERY_SCHEDULE_SCALE must be a number above 0 and at most 1");
  const scale = scaleValue === undefined ? {} : { deliveryScheduleScale: scaleValue };
  const { CATALOG_MODE: catalogMode, UNKNOWN_EVENT_TYPES: unknownEventTypes } = process.env;
  const catalog = catalogMode === undefined && unknownEventTypes === undefined ? {} : { catalog: catalogPolicy(catalogMode ?? "off", unknownEventTypes ?? "allow") };
  const settings = { ...pipeline, ...(ingestMode ? { ingestMode } : {}), ...scale, ...catalog };
  const stack = await startLocalStack({ dataDir, port, dynamoPort, snsPort, sqsPort, settings, onRequest: logRequest, pipelineRedriveSignal: "SIGUSR2" });
  const relative = path.relative(process.cwd(), stack.keyFile);
  const keyFile = relative.startsWith("..") ? stack.keyFile : relative;
  const auth = stack.createdApiKey ?? `$(cat ${keyFile})`;
  const lines = [
    "event-ingestion local stack",
    `  API        ${stack.url}`,
    `  Console    ${stack.consoleUrl}  (events, inbox, queue, pipeline, webhooks, deliveries, catalogue)`,
    `  DynamoDB   ${stack.dynamoEndpoint}  (tables ${stack.eventsTable}, ${stack.apiKeysTable})`,
    stack.queue
      ? `  Mode       queued: POST /events answers 202; the processor stores from the ingest queue\n  SQS        ${stack.queue.sqsEndpoint}  (queue ${stack.queue.queueUrl}, DLQ ${stack.queue.deadLetterQueueUrl}; npm run redrive)\n             ${sqsQueueAttributesCommand(stack.queue.sqsEndpoint, stack.queue.deadLetterQueueUrl)}`
      : "  Mode       direct: POST /events stores in the request (INGEST_MODE=queued for the queue)",
    `  Data       ${dataDir}  (every endpoint above is in ${path.join(dataDir, "local-stack.json")} while this runs)`,
    "",
    stack.createdApiKey
      ? `Created a local API key with scopes ${SCOPES.join(",")}. It is shown only now and saved in ${keyFile}:\n  ${stack.createdApiKey}`
      : `Using the local API key saved in ${keyFile}.`,
    "",
    "Send an event:",
    `  curl -sS -X POST ${stack.url}/events -H "Authorization: Bearer ${auth}" -H "Content-Type: application/json" -d '{"event_type":"demo.hello","payload":{"hello":"world"}}'`,
    "",
    ...(stack.pipeline
      ? [
          `SNS pipeline "payments": topic ${stack.pipeline.topicArn} on ${stack.pipeline.snsEndpoint}. Publish a payment:`,
          `  ${snsPublishCommand(stack.pipeline.snsEndpoint, stack.pipeline.topicArn)}`,
          `Failed messages are logged and listed by: npm run redrive -- --pipeline payments --list`,
          "",
        ]
      : ["The example SNS pipeline is off (config pipeline); PIPELINE=true npm run dev turns it on.", ""]),
    stack.webhookSources.length
      ? `Webhook sources: ${stack.webhookSources.map((name) => `${stack.url}/webhooks/${name}`).join("  ")}`
      : "No webhook sources yet: `npm run webhooks -- add github --scheme github`, then restart.",
    stack.delivery
      ? `Deliveries: ${stack.delivery.queues.map((q) => q.subscription).join(", ")} (queues on ${stack.delivery.sqsEndpoint}; GET /events/{id}/deliveries; npm run replay)`
      : "No subscriptions yet: `npm run subscriptions -- add orders --url http://127.0.0.1:4000/hooks --filter 'order.*'`, then restart.",
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");

  running = stack;
  if (stopping) closeAndExit(stack);
}

main().catch((error: unknown) => {
  const message =
    error instanceof DataDirInUseError || (error instanceof Error && /already in use|INGEST_MODE must be|DELIVERY_SCHEDULE_SCALE must be|must be one of/.test(error.message)) ? error.message : String((error as Error)?.stack ?? error);
  process.stderr.write(`event-ingestion: ${message}\n`);
  process.exit(1);
});
