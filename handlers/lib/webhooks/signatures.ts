/**
 * The signature checks of the three webhook schemes, each as its sender specifies it, over the raw
 * bytes received. Pure functions: no I/O, no parsing of the body. Comparisons are constant-time
 * (`timingSafeEqual` over equal-length digests); a failure says which check failed and nothing more.
 *
 * - Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp`, `webhook-signature`
 *   = space-separated `v1,<base64 HMAC-SHA256(id.timestamp.body)>`; the key is the base64 after `whsec_`.
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`, the secret's UTF-8 bytes as key;
 *   `X-GitHub-Delivery` and `X-GitHub-Event` name the delivery. GitHub signs no timestamp.
 * - Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(t.body)>[,v1=…]`, the whole `whsec_…`
 *   string's UTF-8 bytes as key.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const WEBHOOK_SCHEMES = ["standard", "github", "stripe"] as const;
export type WebhookScheme = (typeof WEBHOOK_SCHEMES)[number];

/** The checks a delivery can fail; also the `code` of the 401 problem. */
export type VerificationFailure = "unknown_source" | "missing_signature_headers" | "invalid_signature" | "timestamp_out_of_tolerance";

export type Verification =
  | {
      ok: true;
      /** The sender's delivery id from a header (Standard Webhooks, GitHub); Stripe's is the event `id`. */
      deliveryId?: string;
      /** GitHub's `X-GitHub-Event`. */
      eventName?: string;
    }
  | { ok: false; code: Exclude<VerificationFailure, "unknown_source"> };

export interface VerifyOptions {
  /** Every secret currently accepted: one, or two while a rotation is under way. */
  secrets: readonly string[];
  nowSeconds: number;
  /** Largest accepted distance between the signed timestamp and now, either way. */
  toleranceSeconds: number;
}

/** Header lookup by lower-case name (API Gateway 2.0 lower-cases names). */
export type HeaderLookup = (name: string) => string | undefined;

export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The request headers each scheme reads, as its sender spells them (the OpenAPI document lists them). */
export const SCHEME_HEADERS: Record<WebhookScheme, readonly string[]> = {
  standard: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  github: ["X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"],
  stripe: ["Stripe-Signature"],
};

export function verifySignature(scheme: WebhookScheme, header: HeaderLookup, body: Buffer, options: VerifyOptions): Verification {
  switch (scheme) {
    case "standard":
      return verifyStandard(header, body, options);
    case "github":
      return verifyGitHub(header, body, options);
    case "stripe":
      return verifyStripe(header, body, options);
  }
}

const MISSING = { ok: false, code: "missing_signature_headers" } as const;
const INVALID = { ok: false, code: "invalid_signature" } as const;
const STALE = { ok: false, code: "timestamp_out_of_tolerance" } as const;

function verifyStandard(header: HeaderLookup, body: Buffer, options: VerifyOptions): Verification {
  const id = header("webhook-id");
  const timestamp = header("webhook-timestamp");
  const signatures = header("webhook-signature");
  if (!id || !timestamp || !signatures) return MISSING;
  const time = unixSeconds(timestamp);
  if (time === undefined) return INVALID;
  if (!withinTolerance(time, options)) return STALE;
  const candidates = signatures
    .split(" ")
    .map((entry) => entry.split(","))
    .filter((parts) => parts.length === 2 && parts[0] === "v1")
    .map((parts) => Buffer.from(parts[1]!, "base64"));
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, "utf8"), body]);
  for (const secret of options.secrets) {
    const key = standardKey(secret);
    if (key === undefined) continue;
    if (matchesAny(hmac(key, signed), candidates)) return { ok: true, deliveryId: id };
  }
  return INVALID;
}

function verifyGitHub(header: HeaderLookup, body: Buffer, options: VerifyOptions): Verification {
  const signature = header("x-hub-signature-256");
  const deliveryId = header("x-github-delivery");
  const eventName = header("x-github-event");
  if (!signature || !deliveryId || !eventName) return MISSING;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signature);
  if (!match) return INVALID;
  const candidate = [Buffer.from(match[1]!, "hex")];
  for (const secret of options.secrets) {
    if (matchesAny(hmac(Buffer.from(secret, "utf8"), body), candidate)) return { ok: true, deliveryId, eventName };
  }
  return INVALID;
}

function verifyStripe(header: HeaderLookup, body: Buffer, options: VerifyOptions): Verification {
  const signature = header("stripe-signature");
  if (!signature) return MISSING;
  let timestamp: string | undefined;
  const candidates: Buffer[] = [];
  for (const item of signature.split(",")) {
    const at = item.indexOf("=");
    if (at < 0) continue;
    const [key, value] = [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    if (key === "t") timestamp ??= value;
    else if (key === "v1" && /^[0-9a-fA-F]{64}$/.test(value)) candidates.push(Buffer.from(value, "hex"));
  }
  const time = timestamp === undefined ? undefined : unixSeconds(timestamp);
  if (time === undefined || candidates.length === 0) return INVALID;
  if (!withinTolerance(time, options)) return STALE;
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), body]);
  for (const secret of options.secrets) {
    if (matchesAny(hmac(Buffer.from(secret, "utf8"), signed), candidates)) return { ok: true };
  }
  return INVALID;
}

/** HMAC-SHA256; a zero-length key is refused (it would let anyone sign), whatever the caller checked. */
function hmac(key: Buffer, data: Buffer): Buffer {
  if (key.length === 0) throw new Error("refusing an empty HMAC key");
  return createHmac("sha256", key).update(data).digest();
}

/** Constant-time for each candidate; a length mismatch says only that it is no SHA-256 digest. */
function matchesAny(expected: Buffer, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const candidate of candidates) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}

function unixSeconds(text: string): number | undefined {
  return /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

function withinTolerance(time: number, options: VerifyOptions): boolean {
  return Math.abs(options.nowSeconds - time) <= options.toleranceSeconds;
}

const STANDARD_PREFIX = "whsec_";

/** A Standard Webhooks key: the base64 after `whsec_`; undefined when it is not base64. */
function standardKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(STANDARD_PREFIX) ? secret.slice(STANDARD_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  return Buffer.from(encoded, "base64");
}

/**
 * Why a secret cannot serve `scheme`, or undefined when it can. Checked where secrets are set (the
 * Pulumi program, the local CLI), so a typo fails at `pulumi up`, not at the first delivery.
 */
export function secretProblem(scheme: WebhookScheme, secret: string): string | undefined {
  if (secret.trim() !== secret || secret === "") return "must be non-empty, without leading or trailing whitespace";
  if (scheme === "standard") {
    const key = secret.startsWith(STANDARD_PREFIX) ? standardKey(secret) : undefined;
    if (!key || key.length < 24 || key.length > 64) return "must be whsec_ followed by the base64 of 24 to 64 random bytes";
  }
  if (scheme === "stripe" && !secret.startsWith(STANDARD_PREFIX)) return "must be the whsec_… signing secret Stripe shows for the endpoint";
  if (secret.length < 16) return "must be at least 16 characters";
  return undefined;
}

/** A fresh random secret in the scheme's format (Stripe's real secret comes from Stripe). */
export function generateSecret(scheme: WebhookScheme): string {
  const bytes = randomBytes(32);
  return scheme === "github" ? bytes.toString("hex") : STANDARD_PREFIX + bytes.toString("base64");
}
