/**
 * Replay: deliver a stored event again, to every subscription its type matches or to one that is
 * named. Each delivery restarts under a new generation and a new webhook-id (docs/adr/0031:
 * receivers that deduplicate by webhook-id must see a replay as a new message; the body's
 * event_id still ties it to the original), with the full retry schedule, and the attempt history
 * stays. The event's status becomes `replayed`, then stays so; `delivered_at` records when every
 * replayed delivery succeeded, and a replayed delivery that exhausts its attempts makes it `failed`.
 * POST /events/{event_id}/replay (scope `replay`, `?subscription=NAME` for one) is the HTTP face;
 * `npm run replay` calls it in bulk, either through that route (`--url`) or, with the operator's AWS
 * credentials (`--stack`), by running `replayEvent` itself on dependencies built by
 * `replayDependencies` from the replay function's own environment (docs/adr/0042).
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { json, problem, type Response } from "../http/http";
import { httpHandler } from "../http/request";
import { EVENT_ID_PATTERN } from "../primitives/ids";
import { storeConfigFromEnv } from "../ops/config";
import { EventRepository } from "../store/store";
import { DeliveryLog, EventDeliveryFields } from "./deliveryLog";
import { sendDeliveries, type QueuedDelivery } from "./deliveryQueues";
import { deliveryConfigFromEnv, matches, SUBSCRIPTION_NAME, type DeliveryConfig } from "./subscriptions";

export interface ReplayDependencies {
  config: Pick<DeliveryConfig, "subscriptions">;
  repository: Pick<EventRepository, "typeOf">;
  deliveryLog: DeliveryLog;
  fields: EventDeliveryFields;
  sqs: SQSClient;
}

/**
 * The replay function's dependencies from its environment (the events table, the subscriptions
 * with their queues and filters, the deliveries table) and the clients to reach them: the one
 * wiring, used by the Lambda entry and by `npm run replay -- --stack` on the deployed function's
 * environment, so both run the same replay on the same resources.
 */
export function replayDependencies(env: NodeJS.ProcessEnv, clients: { doc: DynamoDBDocumentClient; sqs: SQSClient }): ReplayDependencies {
  const store = storeConfigFromEnv(env);
  const config = deliveryConfigFromEnv(env);
  return {
    config,
    repository: new EventRepository(clients.doc, store.eventsTable),
    deliveryLog: new DeliveryLog({ doc: clients.doc, deliveriesTable: config.deliveriesTable, logDays: config.logDays }),
    fields: new EventDeliveryFields(clients.doc, store.eventsTable, store.statusIndexShards),
    sqs: clients.sqs,
  };
}

export type ReplayOutcome =
  | { ok: true; deliveries: { subscription: string; webhook_id: string }[] }
  | { ok: false; code: "event_not_found" | "unknown_subscription" | "no_matching_subscription"; detail: string };

export async function replayEvent(deps: ReplayDependencies, eventId: string, subscription?: string): Promise<ReplayOutcome> {
  // The type alone: a replay never reads the payload (nor a claim-checked one's S3 object).
  const eventType = EVENT_ID_PATTERN.test(eventId) ? await deps.repository.typeOf(eventId) : undefined;
  if (eventType === undefined) return { ok: false, code: "event_not_found", detail: `no event with id ${eventId.slice(0, 64)}` };
  let targets = [...deps.config.subscriptions.values()];
  if (subscription !== undefined) {
    const named = deps.config.subscriptions.get(subscription);
    if (!named) return { ok: false, code: "unknown_subscription", detail: `this stack has no subscription named ${subscription.slice(0, 40)}` };
    targets = [named];
  } else {
    targets = targets.filter((t) => matches(t, eventType));
    if (targets.length === 0) return { ok: false, code: "no_matching_subscription", detail: `no subscription's filter matches ${eventType}` };
  }
  const deliveries: QueuedDelivery[] = [];
  for (const target of targets) {
    const state = await deps.deliveryLog.restart(eventId, target.name, eventType);
    deliveries.push({ target, message: { event_id: eventId, subscription: target.name, webhook_id: state.webhook_id, attempt: 1 } });
  }
  // Replayed before the messages leave, so a quick delivery finds the event replayed and keeps it so.
  await deps.fields.replayed(eventId);
  const failed = await sendDeliveries(deps.sqs, deliveries);
  if (failed.length > 0) throw new Error(`${failed.length} replay message(s) were not queued`);
  return { ok: true, deliveries: deliveries.map((d) => ({ subscription: d.target.name, webhook_id: d.message.webhook_id })) };
}

const STATUS_OF = { event_not_found: 404, unknown_subscription: 400, no_matching_subscription: 409 } as const;
const TITLE_OF = { event_not_found: "No such event", unknown_subscription: "Unknown subscription", no_matching_subscription: "No subscription matches this event" } as const;

export function createReplayHandler(deps: ReplayDependencies) {
  return httpHandler(async (event, ctx): Promise<Response> => {
    const eventId = event.pathParameters?.event_id ?? "";
    const query = event.queryStringParameters ?? {};
    const unknown = Object.keys(query).filter((k) => k !== "subscription");
    const subscription = query.subscription;
    if (unknown.length > 0 || (subscription !== undefined && !SUBSCRIPTION_NAME.test(subscription))) {
      return problem(
        {
          status: 400,
          code: "invalid_query",
          title: "Invalid query parameters",
          errors: unknown.length > 0 ? unknown.map((p) => ({ parameter: p, detail: "unknown parameter", code: "unknown_parameter" })) : [{ parameter: "subscription", detail: `must match ${SUBSCRIPTION_NAME.source}` }],
        },
        ctx.requestId,
      );
    }
    ctx.logFields.event_id = eventId.slice(0, 64);
    const outcome = await replayEvent(deps, eventId, subscription);
    if (!outcome.ok) return problem({ status: STATUS_OF[outcome.code], code: outcome.code, title: TITLE_OF[outcome.code], detail: outcome.detail }, ctx.requestId);
    ctx.logFields.replayed_to = outcome.deliveries.length;
    return json(202, { event_id: eventId, status: "replayed", deliveries: outcome.deliveries, request_id: ctx.requestId });
  });
}
