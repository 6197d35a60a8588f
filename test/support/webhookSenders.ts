/**
 * Deliveries signed by the senders' own libraries, never by our code: `standardwebhooks` (the
 * Standard Webhooks reference implementation), `@octokit/webhooks-methods` (GitHub's) and
 * `stripe` (`webhooks.generateTestHeaderString`). Each returns the headers the sender would send.
 */
import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import { Webhook } from "standardwebhooks";
import type { WebhookScheme } from "../../handlers/lib/webhooks/signatures";

export interface SignedDelivery {
  headers: Record<string, string>;
  body: string;
}

export interface SignOptions {
  secret: string;
  body: string;
  /** Epoch seconds the sender signs with (Standard Webhooks, Stripe). @default now */
  timestampSeconds?: number;
  /** Standard Webhooks `webhook-id` / GitHub `X-GitHub-Delivery`. @default a fresh id */
  deliveryId?: string;
  /** GitHub `X-GitHub-Event`. @default "push" */
  githubEvent?: string;
}

const stripe = new Stripe("sk_test_not_used");

export async function signDelivery(scheme: WebhookScheme, options: SignOptions): Promise<SignedDelivery> {
  const timestamp = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  switch (scheme) {
    case "standard": {
      const id = options.deliveryId ?? `msg_${randomUUID()}`;
      const signature = new Webhook(options.secret).sign(id, new Date(timestamp * 1000), options.body);
      return {
        body: options.body,
        headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
      };
    }
    case "github": {
      // ESM-only package: loaded the way an ESM consumer loads it.
      const { sign } = await import("@octokit/webhooks-methods");
      return {
        body: options.body,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": await sign(options.secret, options.body),
          "x-github-delivery": options.deliveryId ?? randomUUID(),
          "x-github-event": options.githubEvent ?? "push",
          "user-agent": "GitHub-Hookshot/test",
        },
      };
    }
    case "stripe": {
      const header = stripe.webhooks.generateTestHeaderString({ payload: options.body, secret: options.secret, timestamp });
      return { body: options.body, headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": header } };
    }
  }
}

/** The header names that carry a scheme's signature material (removing any one is "missing"). */
export const SIGNATURE_HEADERS: Record<WebhookScheme, string[]> = {
  standard: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  github: ["x-hub-signature-256", "x-github-delivery", "x-github-event"],
  stripe: ["stripe-signature"],
};

/** A typical body per scheme, shaped as each sender sends it. */
export function sampleBody(scheme: WebhookScheme, id = randomUUID()): string {
  switch (scheme) {
    case "standard":
      return JSON.stringify({ type: "invoice.paid", timestamp: "2026-01-01T00:00:00Z", data: { invoice_id: id, amount: 1250 } });
    case "github":
      return JSON.stringify({ action: "opened", number: 7, pull_request: { id: 42, title: `fix ${id}` }, repository: { full_name: "acme/app" } });
    case "stripe":
      return JSON.stringify({ id: `evt_${id.replace(/-/g, "")}`, object: "event", type: "payment_intent.succeeded", created: 1767225600, data: { object: { id: "pi_1", amount: 2000 } } });
  }
}

/** The three sources the tests configure: one per scheme. */
export const TEST_SOURCES = [
  { name: "acme", scheme: "standard" },
  { name: "github", scheme: "github" },
  { name: "payments", scheme: "stripe" },
] as const satisfies readonly { name: string; scheme: WebhookScheme }[];
