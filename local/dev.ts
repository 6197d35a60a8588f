/**
 * `npm run dev`: the local stack on this machine. PORT (3000), DYNAMODB_PORT (8000) and DATA_DIR
 * (.data) configure it; Ctrl-C stops it cleanly and the data stays for the next start.
 * INGEST_MODE=queued runs queued ingestion (the local SQS on SQS_PORT, 9324, and the processor).
 */
import * as path from "node:path";
import { ingestModeValue } from "./config";
import { DataDirInUseError, startLocalStack } from "./stack";
import type { RequestLogEntry } from "./gateway";

const port = Number(process.env.PORT ?? 3000);
const dynamoPort = Number(process.env.DYNAMODB_PORT ?? 8000);
const dataDir = process.env.DATA_DIR ?? ".data";
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

async function main(): Promise<void> {
  const ingestMode = process.env.INGEST_MODE === undefined ? undefined : ingestModeValue(process.env.INGEST_MODE, "INGEST_MODE");
  const stack = await startLocalStack({ dataDir, port, dynamoPort, sqsPort, onRequest: logRequest, ...(ingestMode ? { settings: { ingestMode } } : {}) });
  const relative = path.relative(process.cwd(), stack.keyFile);
  const keyFile = relative.startsWith("..") ? stack.keyFile : relative;
  const auth = stack.createdApiKey ?? `$(cat ${keyFile})`;
  const lines = [
    "event-ingestion local stack",
    `  API        ${stack.url}`,
    `  DynamoDB   ${stack.dynamoEndpoint}  (tables ${stack.eventsTable}, ${stack.apiKeysTable})`,
    stack.queue
      ? `  Mode       queued: POST /events answers 202; the processor stores from the ingest queue\n  SQS        ${stack.queue.sqsEndpoint}  (queue ${stack.queue.queueUrl}, DLQ ${stack.queue.deadLetterQueueUrl}; npm run redrive)`
      : "  Mode       direct: POST /events stores in the request (INGEST_MODE=queued for the queue)",
    `  Data       ${dataDir}`,
    "",
    stack.createdApiKey
      ? `Created a local API key with scopes ingest,read. It is shown only now and saved in ${keyFile}:\n  ${stack.createdApiKey}`
      : `Using the local API key saved in ${keyFile}.`,
    "",
    "Send an event:",
    `  curl -sS -X POST ${stack.url}/events -H "Authorization: Bearer ${auth}" -H "Content-Type: application/json" -d '{"event_type":"demo.hello","payload":{"hello":"world"}}'`,
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping; data stays in ${dataDir}\n`);
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const message =
    error instanceof DataDirInUseError || (error instanceof Error && /already in use|INGEST_MODE must be/.test(error.message)) ? error.message : String((error as Error)?.stack ?? error);
  process.stderr.write(`event-ingestion: ${message}\n`);
  process.exit(1);
});
