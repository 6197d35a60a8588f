/**
 * POST /events/{event_id}/ack: marks an event delivered with one conditional UpdateItem, so
 * concurrent acks cannot both count. A repeat changes nothing and answers 200 with the event as
 * it is. UpdateItem is the only action this needs (and the only one the ack function may use).
 */
import { UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { errorName } from "../primitives/faults";
import { json, problem, type Response } from "../http/http";
import { EVENT_ID_PATTERN, shardOf } from "../primitives/ids";
import { statusShardKey, type EventRecord } from "../events/record";
import { httpHandler, type RequestContext } from "../http/request";
import { EVENTS_TABLE, STATUS_INDEX } from "../primitives/tables";

export interface AckDependencies {
  doc: DynamoDBDocumentClient;
  eventsTable: string;
  statusIndexShards: number;
  now?: () => number;
}

export function createAckHandler(deps: AckDependencies) {
  const now = deps.now ?? Date.now;
  const names = { "#id": EVENTS_TABLE.partitionKey.name, "#status": "status" };

  /** Runs the update; undefined when its condition failed. */
  async function update(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], "TableName" | "ReturnValues">): Promise<EventRecord | undefined> {
    try {
      const { Attributes } = await deps.doc.send(new UpdateCommand({ ...input, TableName: deps.eventsTable, ReturnValues: "ALL_NEW" }));
      return Attributes as EventRecord;
    } catch (error) {
      if (errorName(error) === "ConditionalCheckFailedException") return undefined;
      throw error;
    }
  }

  const view = (record: EventRecord, ctx: RequestContext, changed: boolean): Response =>
    json(200, {
      event_id: record.event_id,
      status: record.status,
      delivered_at: record.delivered_at ?? null,
      delivery_attempts: record.delivery_attempts,
      changed,
      request_id: ctx.requestId,
    });

  return httpHandler(async (event, ctx) => {
    const eventId = event.pathParameters?.event_id ?? "";
    const notFound = () => problem({ status: 404, code: "event_not_found", title: "No such event", detail: `no event with id ${eventId.slice(0, 64)}` }, ctx.requestId);
    if (!EVENT_ID_PATTERN.test(eventId)) return notFound();
    ctx.logFields.event_id = eventId;
    const key = { [EVENTS_TABLE.partitionKey.name]: eventId };

    const delivered = await update({
      Key: key,
      UpdateExpression: "SET #status = :delivered, #shard = :shard, delivered_at = :now ADD delivery_attempts :one",
      ConditionExpression: "attribute_exists(#id) AND #status <> :delivered",
      ExpressionAttributeNames: { ...names, "#shard": STATUS_INDEX.partitionKey.name },
      ExpressionAttributeValues: {
        ":delivered": "delivered",
        ":shard": statusShardKey("delivered", shardOf(eventId, deps.statusIndexShards)),
        ":now": new Date(now()).toISOString(),
        ":one": 1,
      },
    });
    if (delivered) return view(delivered, ctx, true);

    // Already delivered, or absent. A no-op update tells which without a read permission;
    // it writes nothing new, so the table stream records nothing either.
    const current = await update({
      Key: key,
      UpdateExpression: "SET #status = #status",
      ConditionExpression: "attribute_exists(#id)",
      ExpressionAttributeNames: names,
    });
    if (!current) return notFound();
    ctx.logFields.duplicate = true;
    return view(current, ctx, false);
  });
}
