/**
 * The floor the ingest handler is compared with: what any handler that stores API Gateway events
 * in DynamoDB with the AWS SDK v3 must do. `JSON.parse` the body, then one `PutCommand` of the
 * event plus an id, or one `BatchWriteCommand` of a 25-event batch. No validation, no enrichment,
 * no logging. Bundled with the deploy bundles' esbuild options and the same SDK (bench/floor.ts).
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const table = process.env.EVENTS_TABLE_NAME;

export const handler = async (event: APIGatewayProxyEventV2) => {
  const body = JSON.parse(event.body ?? "null");
  if (event.routeKey === "POST /events/batch") {
    const events = body.events as Record<string, unknown>[];
    await doc.send(new BatchWriteCommand({ RequestItems: { [table!]: events.map((e) => ({ PutRequest: { Item: { event_id: randomUUID(), ...e } } })) } }));
    return { statusCode: 200, body: "{}" };
  }
  const eventId = randomUUID();
  await doc.send(new PutCommand({ TableName: table, Item: { event_id: eventId, ...body } }));
  return { statusCode: 201, body: JSON.stringify({ event_id: eventId }) };
};
