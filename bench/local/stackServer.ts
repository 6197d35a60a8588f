/** Child process: the local stack (`npm run dev`'s) on free ports, with a fresh DATA_DIR. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalStack } from "../../local/stack";
import { serveUntilParentLeaves } from "../lib/child";

export interface StackServerInfo {
  url: string;
  apiKey: string;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-bench-stack-"));
  const stack = await startLocalStack({ dataDir, port: 0, dynamoPort: 0 });
  const info: StackServerInfo = { url: stack.url, apiKey: stack.createdApiKey! };
  serveUntilParentLeaves(info, async () => {
    await stack.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
}

void main();
