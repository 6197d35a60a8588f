/** Child process: the local stack in the ingest mode of BENCH_INGEST_MODE, on free ports, with a fresh DATA_DIR. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ingestModeValue } from "../../local/config";
import { startLocalStack } from "../../local/stack";
import { serveUntilParentLeaves } from "../lib/child";

export interface ModeStackInfo {
  url: string;
  apiKey: string;
}

async function main(): Promise<void> {
  const ingestMode = ingestModeValue(process.env.BENCH_INGEST_MODE ?? "direct", "BENCH_INGEST_MODE");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `event-ingestion-bench-${ingestMode}-`));
  const stack = await startLocalStack({ dataDir, port: 0, dynamoPort: 0, sqsPort: 0, settings: { ingestMode } });
  // The API latency is measured alone: in AWS the processor is another function (bench/queued.ts).
  await stack.queue?.pauseProcessor();
  const info: ModeStackInfo = { url: stack.url, apiKey: stack.createdApiKey! };
  serveUntilParentLeaves(info, async () => {
    await stack.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
}

void main();
