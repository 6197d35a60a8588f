/** DynamoDB tables from the shared definitions, created idempotently (local stack, key CLI, tests). */
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { keyAttributes, type TableDefinition } from "../handlers/lib/primitives/tables";
import { errorName } from "../handlers/lib/primitives/faults";

/** CreateTable input from a table definition: on-demand, each index projecting what its definition says. */
export function createTableInput(definition: TableDefinition, name: string) {
  return {
    TableName: name,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: keyAttributes(definition).map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: "HASH" as const },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: "RANGE" as const }] : []),
    ],
    ...(definition.indexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: definition.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: "HASH" as const },
              { AttributeName: index.sortKey.name, KeyType: "RANGE" as const },
            ],
            Projection:
              index.projection.type === "ALL"
                ? { ProjectionType: "ALL" as const }
                : { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.projection.nonKeyAttributes] },
          })),
        }),
  };
}

/**
 * Creates the table unless it exists, then waits until it is ACTIVE (a CREATING table answers item
 * operations with ResourceNotFoundException, in DynamoDB and in dynalite alike); returns whether
 * it was created.
 */
export async function ensureTable(client: DynamoDBClient, definition: TableDefinition, name: string, timeoutMs = 30_000): Promise<boolean> {
  let created = false;
  if ((await tableStatus(client, name)) === undefined) {
    try {
      await client.send(new CreateTableCommand(createTableInput(definition, name)));
      created = true;
    } catch (error) {
      if (errorName(error) !== "ResourceInUseException") throw error;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 500)) {
    const status = await tableStatus(client, name);
    if (status === "ACTIVE") return created;
    if (Date.now() + delayMs > deadline) throw new Error(`table ${name} is not ACTIVE after ${timeoutMs} ms (status ${status ?? "missing"})`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** The table's status, undefined when there is no such table. */
async function tableStatus(client: DynamoDBClient, name: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    return Table?.TableStatus ?? "ACTIVE";
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") return undefined;
    throw error;
  }
}
