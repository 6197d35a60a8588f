/**
 * GET /events/{event_id}, GET /events, GET /inbox and GET /events/{event_id}/deliveries: reads from
 * the table, the status index and (with subscriptions) the delivery log.
 */
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod/mini";
import { InvalidCursorError } from "../store/cursor";
import { json, problem, type FieldError, type Response } from "../http/http";
import { EVENT_ID_PATTERN } from "../primitives/ids";
import { LIMITS } from "../primitives/limits";
import { DEFAULT_LIST_BUDGET, EventLister, type ListQuery } from "../store/listing";
import { EventRepository } from "../store/store";
import type { PayloadObjects } from "../store/payloadObjects";
import { publicEvent, type EventRecord } from "../events/record";
import { httpHandler, type HttpEvent, type RequestContext } from "../http/request";
import { EVENT_STATUSES, InboxQuerySchema, ListEventsQuerySchema, schemaErrors } from "../events/schema";
import { EVENTS_TABLE } from "../primitives/tables";
import type { DeliveryLog } from "../delivery/deliveryLog";

export interface ReadDependencies {
  doc: DynamoDBDocumentClient;
  eventsTable: string;
  statusIndexShards: number;
  /** The delivery log; absent when the stack has no subscriptions (every event then has no attempts). */
  deliveryLog?: DeliveryLog;
  /** The claim check's objects (ADR 0035): claim-checked payloads are read from there. */
  payloadObjects?: PayloadObjects;
}

export function createReadHandler(deps: ReadDependencies) {
  const repository = new EventRepository(deps.doc, deps.eventsTable, deps.payloadObjects);
  const lister = new EventLister(deps.doc, deps.eventsTable, deps.statusIndexShards, DEFAULT_LIST_BUDGET, deps.payloadObjects);

  async function getEvent(event: HttpEvent, ctx: RequestContext): Promise<Response> {
    const eventId = event.pathParameters?.event_id ?? "";
    const notFound = () => problem({ status: 404, code: "event_not_found", title: "No such event", detail: `no event with id ${eventId.slice(0, 64)}` }, ctx.requestId);
    if (!EVENT_ID_PATTERN.test(eventId)) return notFound();
    const record = await repository.find(eventId);
    if (!record) return notFound();
    ctx.logFields.event_id = eventId;
    // The event as stored, including the request_id of the request that wrote it; this read's own
    // id is in the apigw-requestid header and the log line.
    return json(200, publicEvent(record));
  }

  /** Every delivery attempt of an event, and each subscription's delivery state. */
  async function getDeliveries(event: HttpEvent, ctx: RequestContext): Promise<Response> {
    const eventId = event.pathParameters?.event_id ?? "";
    const notFound = () => problem({ status: 404, code: "event_not_found", title: "No such event", detail: `no event with id ${eventId.slice(0, 64)}` }, ctx.requestId);
    if (!EVENT_ID_PATTERN.test(eventId)) return notFound();
    const { Item } = await deps.doc.send(
      new GetCommand({ TableName: deps.eventsTable, Key: { [EVENTS_TABLE.partitionKey.name]: eventId }, ConsistentRead: true, ProjectionExpression: "#id, #status, delivery_attempts", ExpressionAttributeNames: { "#id": EVENTS_TABLE.partitionKey.name, "#status": "status" } }),
    );
    if (!Item) return notFound();
    ctx.logFields.event_id = eventId;
    const [states, attempts] = deps.deliveryLog ? await Promise.all([deps.deliveryLog.states(eventId), deps.deliveryLog.attempts(eventId)]) : [[], []];
    attempts.sort((a, b) => (a.attempted_at < b.attempted_at ? -1 : a.attempted_at > b.attempted_at ? 1 : 0));
    return json(200, {
      event_id: eventId,
      status: Item.status,
      delivery_attempts: Item.delivery_attempts,
      subscriptions: states.map((s) => ({
        subscription: s.subscription,
        state: s.state,
        webhook_id: s.webhook_id,
        attempts: s.attempts,
        replays: s.replays ?? 0,
        last_attempt_at: s.last_attempt_at ?? null,
        delivered_at: s.delivered_at ?? null,
        failed_at: s.failed_at ?? null,
      })),
      attempts,
      request_id: ctx.requestId,
    });
  }

  async function listPage(
    event: HttpEvent,
    ctx: RequestContext,
    schema: typeof ListEventsQuerySchema | typeof InboxQuerySchema,
    toQuery: (params: z.infer<typeof ListEventsQuerySchema>) => Omit<ListQuery, "limit" | "cursor">,
  ): Promise<Response> {
    const parsed = parseQuery(event, schema);
    if ("errors" in parsed) return problem({ status: 400, code: "invalid_query", title: "Invalid query parameters", errors: parsed.errors }, ctx.requestId);
    const params = parsed.params;
    try {
      const page = await lister.list({
        ...toQuery(params),
        limit: params.limit === undefined ? LIMITS.listDefaultLimit : Number(params.limit),
        ...(params.cursor === undefined ? {} : { cursor: params.cursor }),
      });
      ctx.logFields.items = page.items.length;
      ctx.logFields.queries = page.queries;
      ctx.logFields.read_units = page.readUnits;
      if (page.budgetReached) ctx.logFields.budget_reached = true;
      return json(200, { items: page.items.map(publicEvent), next_cursor: page.nextCursor, request_id: ctx.requestId });
    } catch (error) {
      if (!(error instanceof InvalidCursorError)) throw error;
      return problem(
        { status: 400, code: "invalid_cursor", title: "Invalid cursor", detail: `${error.message}; start again without a cursor`, errors: [{ parameter: "cursor", detail: error.message }] },
        ctx.requestId,
      );
    }
  }

  return httpHandler(async (event, ctx) => {
    switch (event.routeKey) {
      case "GET /events/{event_id}":
        return getEvent(event, ctx);
      case "GET /events/{event_id}/deliveries":
        return getDeliveries(event, ctx);
      case "GET /events":
        if (event.queryStringParameters?.event_type !== undefined && event.queryStringParameters.status === undefined) {
          // Without a status the filter would read every status's shards (ADR 0022).
          return problem(
            {
              status: 400,
              code: "invalid_query",
              title: "Invalid query parameters",
              detail: "event_type filters within one status; add status (pending, delivered, failed or replayed)",
              errors: [{ parameter: "event_type", detail: "needs status", code: "status_required" }],
            },
            ctx.requestId,
          );
        }
        return listPage(event, ctx, ListEventsQuerySchema, (p) => ({
          statuses: p.status === undefined ? EVENT_STATUSES : [p.status],
          ...(p.event_type === undefined ? {} : { eventType: p.event_type }),
          order: "newest",
        }));
      default: // GET /inbox
        return listPage(event, ctx, InboxQuerySchema, () => ({ statuses: ["pending"], order: "oldest" }));
    }
  });
}

/**
 * The query string against its schema, one error per parameter. API Gateway joins a repeated
 * parameter's values with commas (`limit=5&limit=6` arrives as `"5,6"`), so repetition is read
 * from rawQueryString and reported as such, not as a bad value.
 */
function parseQuery(
  event: HttpEvent,
  schema: typeof ListEventsQuerySchema | typeof InboxQuerySchema,
): { params: z.infer<typeof ListEventsQuerySchema> } | { errors: FieldError[] } {
  const counts = new Map<string, number>();
  for (const [name] of new URLSearchParams(event.rawQueryString ?? "")) counts.set(name, (counts.get(name) ?? 0) + 1);
  const errors: FieldError[] = [];
  const single: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    const count = counts.get(name) ?? 1;
    if (count > 1) errors.push({ parameter: name, code: "repeated_parameter", detail: `"${name}" was given ${count} times; give it once` });
    else if (value !== undefined) single[name] = value;
  }
  const parsed = schema.safeParse(single);
  if (!parsed.success) {
    for (const { pointer, detail, code } of schemaErrors(parsed.error, "query")) {
      const parameter = pointer.slice(1);
      // A value can fail several checks that say the same thing (pattern and range of limit).
      if (!errors.some((e) => e.parameter === parameter)) errors.push({ parameter, detail, code });
    }
  }
  return errors.length > 0 ? { errors } : { params: parsed.data as z.infer<typeof ListEventsQuerySchema> };
}
