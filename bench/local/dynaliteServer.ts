/**
 * Child process: dynalite as the local stack runs it (LevelDB under a data directory), with the
 * events table, for raw PutItem throughput.
 */
import * as fs from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { ensureTable } from "../../local/tables";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../local/stack";
import { BENCH_EVENTS_TABLE } from "../lib/fixtures";
import { serveUntilParentLeaves } from "../lib/child";

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

export interface DynaliteServerInfo {
  endpoint: string;
  table: string;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-bench-dynalite-"));
  const server = dynalite({ path: path.join(dataDir, "dynamodb"), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await ensureTable(client, EVENTS_TABLE, BENCH_EVENTS_TABLE);
  client.destroy();
  const info: DynaliteServerInfo = { endpoint, table: BENCH_EVENTS_TABLE };
  serveUntilParentLeaves(info, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
}

void main();
