/**
 * The message on a subscription's delivery queue: `{event_id, subscription, webhook_id, attempt}`.
 * It names the delivery, never carries the event (the deliverer reads the event as stored, so a
 * message cannot smuggle a body past validation) and is re-validated in full on receipt: only our
 * functions should write these queues, but IAM can be wrong.
 */
import { EVENT_ID_PATTERN } from "../primitives/ids";
import { WEBHOOK_ID_PATTERN } from "./signing";
import { SUBSCRIPTION_NAME } from "./subscriptions";

export interface DeliveryMessage {
  event_id: string;
  subscription: string;
  webhook_id: string;
  /** The attempt number of this message's first receive (1); later receives add SQS's receive count. */
  attempt: number;
}

export function encodeDeliveryMessage(message: DeliveryMessage): string {
  return JSON.stringify({ event_id: message.event_id, subscription: message.subscription, webhook_id: message.webhook_id, attempt: message.attempt });
}

/** The message, or a reason it cannot be one. */
export function parseDeliveryMessage(body: string): { ok: true; message: DeliveryMessage } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { ok: false, reason: "body is not an object" };
  const m = value as Record<string, unknown>;
  const keys = Object.keys(m).sort().join(",");
  if (keys !== "attempt,event_id,subscription,webhook_id") return { ok: false, reason: `unexpected fields: ${keys.slice(0, 100)}` };
  if (typeof m.event_id !== "string" || !EVENT_ID_PATTERN.test(m.event_id)) return { ok: false, reason: "event_id is not an event id" };
  if (typeof m.subscription !== "string" || !SUBSCRIPTION_NAME.test(m.subscription)) return { ok: false, reason: "subscription is not a subscription name" };
  if (typeof m.webhook_id !== "string" || !WEBHOOK_ID_PATTERN.test(m.webhook_id)) return { ok: false, reason: "webhook_id is not a webhook id" };
  if (!Number.isInteger(m.attempt) || (m.attempt as number) < 1 || (m.attempt as number) > 100) return { ok: false, reason: "attempt is not a positive integer" };
  return { ok: true, message: m as unknown as DeliveryMessage };
}
