/**
 * An in-memory dynalite (a real DynamoDB API implementation) per test file, with tables created
 * from the same definitions the Pulumi components and the local stack use.
 */
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../handlers/lib/store/store";
import type { TableDefinition } from "../../handlers/lib/primitives/tables";
import { ensureTable } from "../../local/tables";
import { captureLogs, type CapturedLogs } from "./logs";
// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => import("node:http").Server;

export interface TestDynamo {
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  createTable(definition: TableDefinition, name: string): Promise<void>;
  scanAll(tableName: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export async function startDynalite(): Promise<TestDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientConfig = { endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS };
  const client = new DynamoDBClient(clientConfig);
  const doc = createDocumentClient(clientConfig);
  return {
    endpoint,
    client,
    doc,
    async createTable(definition, name) {
      await ensureTable(client, definition, name); // waits for ACTIVE, as a CREATING table rejects writes
    },
    async scanAll(tableName) {
      const { Items } = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
      return (Items ?? []) as Record<string, unknown>[];
    },
    async close() {
      client.destroy();
      doc.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface DynaliteSuite {
  readonly dynamo: TestDynamo;
  /** The handlers' log lines of the running test. */
  readonly logs: CapturedLogs;
  /** A new, empty table named `${prefix}-<n>`, ACTIVE. */
  freshTable(definition: TableDefinition, prefix: string): Promise<string>;
}

/** Mocha hooks for a describe block: one dynalite for the block, log lines captured per test. */
export function useDynalite(): DynaliteSuite {
  let dynamo: TestDynamo | undefined;
  let logs: CapturedLogs | undefined;
  let tables = 0;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await dynamo?.close();
  });
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs?.restore());
  return {
    get dynamo() {
      return dynamo!;
    },
    get logs() {
      return logs!;
    },
    async freshTable(definition, prefix) {
      const name = `${prefix}-${++tables}`;
      await dynamo!.createTable(definition, name);
      return name;
    },
  };
}
