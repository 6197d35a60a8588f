/**
 * Standard Webhooks signing, from the sending side (https://www.standardwebhooks.com): the three
 * headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, where a signature is
 * `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)) and the key is the base64 part of
 * a `whsec_` secret. During a rotation the header carries one signature per secret, space-separated,
 * so receivers holding either secret verify (the `standardwebhooks` library tries each).
 */
import { createHash, createHmac } from "node:crypto";

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The HMAC key inside a `whsec_` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
}

export function signature(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  return "v1," + createHmac("sha256", keyOf(secret)).update(`${webhookId}.${timestampSeconds}.${body}`).digest("base64");
}

/** The headers of one attempt: signed with every accepted secret (current first). */
export function signDelivery(input: { webhookId: string; timestampSeconds: number; body: string; secrets: readonly string[] }): SignedHeaders {
  if (input.secrets.length === 0) throw new Error("a delivery needs at least one signing secret");
  return {
    "webhook-id": input.webhookId,
    "webhook-timestamp": String(input.timestampSeconds),
    "webhook-signature": input.secrets.map((secret) => signature(secret, input.webhookId, input.timestampSeconds, input.body)).join(" "),
  };
}

/**
 * The `webhook-id` of a delivery: stable for one event, one subscription and one generation
 * (0 for the first delivery, n for the n-th replay), so every retry of a delivery carries the same
 * id and receivers can deduplicate, while a replay is a new message (docs/adr/0031). Derived, not
 * random, so a stream record dispatched twice yields the same id.
 */
export function webhookIdOf(eventId: string, subscription: string, generation: number): string {
  const digest = createHash("sha256").update(`${eventId}\n${subscription}\n${generation}`).digest("hex");
  return `msg_${digest.slice(0, 32)}`;
}

export const WEBHOOK_ID_PATTERN = /^msg_[0-9a-f]{32}$/;
