/** DynamoDB tables from the shared definitions, created idempotently (local stack, key CLI, tests). */
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { keyAttributes, type TableDefinition } from "../handlers/lib/tables";
import { errorName } from "../handlers/lib/faults";

/** CreateTable input from a table definition: on-demand, every index projecting all attributes. */
export function createTableInput(definition: TableDefinition, name: string) {
  return {
    TableName: name,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: keyAttributes(definition).map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [{ AttributeName: definition.partitionKey.name, KeyType: "HASH" as const }],
    ...(definition.indexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: definition.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: "HASH" as const },
              { AttributeName: index.sortKey.name, KeyType: "RANGE" as const },
            ],
            Projection: { ProjectionType: "ALL" as const },
          })),
        }),
  };
}

/** Creates the table unless it exists; returns whether it was created. */
export async function ensureTable(client: DynamoDBClient, definition: TableDefinition, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return false;
  } catch (error) {
    if (errorName(error) !== "ResourceNotFoundException") throw error;
  }
  try {
    await client.send(new CreateTableCommand(createTableInput(definition, name)));
    return true;
  } catch (error) {
    if (errorName(error) === "ResourceInUseException") return false;
    throw error;
  }
}
