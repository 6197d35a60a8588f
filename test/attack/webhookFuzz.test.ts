/**
 * Property-based fuzzing of POST /webhooks/{source} with fast-check: a delivery signed by the
 * sender's own library, then one to three mutations of what the signature covers (body bytes,
 * signature headers, the signed timestamp or id, the source it is sent to, base64 transport). For
 * every one: a 401 problem+json with one of the four verification codes, never a 5xx, never a write.
 *
 * GitHub signs only the body, so its X-GitHub-Event and X-GitHub-Delivery headers are not mutated
 * here: a changed one verifies (docs/THREAT_MODEL.md, "Webhooks"). WEBHOOK_FUZZ_RUNS sets the runs.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { Response } from "../../handlers/lib/http/http";
import { WEBHOOK_SCHEMES, type WebhookScheme } from "../../handlers/lib/webhooks/signatures";
import { useDynalite } from "../support/dynalite";
import { webhookEvent, webhookFixture, type WebhookFixture } from "../support/webhookHandler";
import { sampleBody, signDelivery, TEST_SOURCES, type SignedDelivery } from "../support/webhookSenders";

const RUNS = Number(process.env.WEBHOOK_FUZZ_RUNS ?? 600);
const CODES = ["unknown_source", "missing_signature_headers", "invalid_signature", "timestamp_out_of_tolerance"];

/** The headers whose every byte the scheme's signature check depends on. */
const SIGNED_HEADERS: Record<WebhookScheme, string[]> = {
  standard: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  github: ["x-hub-signature-256"],
  stripe: ["stripe-signature"],
};

interface Attempt {
  source: string;
  delivery: { headers: Record<string, string>; body: Buffer };
  base64: boolean;
}

type Mutation = (attempt: Attempt, scheme: WebhookScheme) => void;

const HEX = "0123456789abcdef";
/** Another character of the same alphabet that decodes to different bits (never a case variant). */
const otherChar = (c: string, alphabet: string, shift: number) => alphabet[(alphabet.indexOf(c) + 1 + (shift % (alphabet.length - 1))) % alphabet.length]!;

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // Body bytes: every change alters what was signed.
  fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }).map(({ at, xor }): Mutation => (a) => {
    if (a.delivery.body.length === 0) return void (a.delivery.body = Buffer.from([xor]));
    const body = Buffer.from(a.delivery.body);
    const i = at % body.length;
    body[i] = body[i]! ^ xor;
    a.delivery.body = body;
  }),
  fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }).map(({ at, bytes }): Mutation => (a) => {
    const i = at % (a.delivery.body.length + 1);
    a.delivery.body = Buffer.concat([a.delivery.body.subarray(0, i), Buffer.from(bytes), a.delivery.body.subarray(i)]);
  }),
  fc.nat().map((cut): Mutation => (a) => {
    a.delivery.body = a.delivery.body.subarray(0, cut % Math.max(1, a.delivery.body.length));
  }),
  fc.constantFrom(" ", "\n", "\r\n", "\t").map((ws): Mutation => (a) => {
    // What a re-serializing proxy would do: reformat the JSON.
    a.delivery.body = Buffer.concat([a.delivery.body, Buffer.from(ws)]);
  }),
  // Signature headers: removed, replaced by junk, or one significant character changed.
  fc.nat().map((pick): Mutation => (a, scheme) => {
    const names = SIGNED_HEADERS[scheme];
    delete a.delivery.headers[names[pick % names.length]!];
  }),
  fc.record({ pick: fc.nat(), junk: fc.string({ maxLength: 120 }) }).map(({ pick, junk }): Mutation => (a, scheme) => {
    const names = SIGNED_HEADERS[scheme];
    a.delivery.headers[names[pick % names.length]!] = junk;
  }),
  fc.record({ at: fc.nat(), shift: fc.nat() }).map(({ at, shift }): Mutation => (a, scheme) => {
    const h = a.delivery.headers;
    if (scheme === "github" && /^sha256=[0-9a-f]{64}$/.test(h["x-hub-signature-256"] ?? "")) {
      const v = h["x-hub-signature-256"]!;
      const i = 7 + (at % 64);
      h["x-hub-signature-256"] = v.slice(0, i) + otherChar(v[i]!, HEX, shift) + v.slice(i + 1);
    } else if (scheme === "stripe" && h["stripe-signature"]) {
      h["stripe-signature"] = h["stripe-signature"].replace(/v1=([0-9a-f]{64})/g, (_, sig: string) => {
        const i = at % 64;
        return `v1=${sig.slice(0, i)}${otherChar(sig[i]!, HEX, shift)}${sig.slice(i + 1)}`;
      });
    } else if (scheme === "standard" && /^v1,[A-Za-z0-9+/]{43}=$/.test(h["webhook-signature"] ?? "")) {
      // The first 40 base64 characters carry only signature bits (the last ones hold padding bits).
      const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const [version, sig = ""] = h["webhook-signature"]!.split(",");
      const i = at % 40;
      const replacement = b64[(b64.indexOf(sig[i]!) + 1 + (shift % 63)) % 64]!;
      h["webhook-signature"] = `${version},${sig.slice(0, i)}${replacement}${sig.slice(i + 1)}`;
    }
  }),
  // The signed timestamp or id moved (Standard Webhooks, Stripe); a valid signature no longer covers it.
  fc.integer({ min: -100_000, max: 100_000 }).filter((d) => d !== 0).map((delta): Mutation => (a, scheme) => {
    const h = a.delivery.headers;
    if (scheme === "standard" && h["webhook-timestamp"]) h["webhook-timestamp"] = String(Number(h["webhook-timestamp"]) + delta);
    else if (scheme === "standard" && h["webhook-id"]) h["webhook-id"] += "x";
    else if (scheme === "stripe" && h["stripe-signature"]) h["stripe-signature"] = h["stripe-signature"].replace(/t=(\d+)/, (_, t: string) => `t=${Number(t) + delta}`);
    else if (scheme === "github") a.delivery.body = Buffer.concat([a.delivery.body, Buffer.from(" ")]);
  }),
  // Sent to another source (another secret, maybe another scheme) or to an unknown one.
  fc.oneof(fc.constantFrom(...TEST_SOURCES.map((s) => s.name)), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/)).map((source): Mutation => (a) => {
    a.source = a.source === source ? `${source}x` : source;
  }),
);

/** Transport only: not a mutation of signed material, combined with the ones above. */
const base64Arb = fc.boolean();

describe("property-based fuzzing of POST /webhooks/{source} (fast-check, handler against dynalite)", function () {
  this.timeout(120_000 + RUNS * 50);
  const suite = useDynalite();
  let fx: WebhookFixture;
  const signed: Record<WebhookScheme, SignedDelivery[]> = { standard: [], github: [], stripe: [] };

  before(async () => {
    fx = await webhookFixture(suite);
    for (const scheme of WEBHOOK_SCHEMES) {
      const secret = fx.secrets[TEST_SOURCES.find((s) => s.scheme === scheme)!.name]![0]!;
      for (let i = 0; i < 4; i++) signed[scheme].push(await signDelivery(scheme, { secret, body: sampleBody(scheme) }));
    }
  });

  it(`${RUNS} mutated deliveries: each a 401 with a verification code, never a 5xx, never a write`, async () => {
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...WEBHOOK_SCHEMES),
        fc.nat({ max: 3 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        base64Arb,
        async (scheme, which, mutations, base64) => {
          const original = signed[scheme][which]!;
          const attempt: Attempt = {
            source: TEST_SOURCES.find((s) => s.scheme === scheme)!.name,
            delivery: { headers: { ...original.headers }, body: Buffer.from(original.body, "utf8") },
            base64,
          };
          for (const mutate of mutations) mutate(attempt, scheme);
          const unchanged =
            attempt.source === TEST_SOURCES.find((s) => s.scheme === scheme)!.name &&
            attempt.delivery.body.equals(Buffer.from(original.body, "utf8")) &&
            SIGNED_HEADERS[scheme].every((h) => attempt.delivery.headers[h] === original.headers[h]);
          fc.pre(!unchanged);

          const event = webhookEvent(attempt.source, { headers: attempt.delivery.headers, body: "" });
          // Bytes that are not UTF-8 can only arrive base64-encoded, as API Gateway hands them over.
          const text = attempt.delivery.body.toString("utf8");
          const asText = !base64 && Buffer.from(text, "utf8").equals(attempt.delivery.body);
          event.body = asText ? text : attempt.delivery.body.toString("base64");
          event.isBase64Encoded = !asText;
          const response: Response = await fx.handler(event);
          const body = JSON.parse(response.body ?? "{}") as { code?: string };
          statuses.set(`${response.statusCode} ${body.code}`, (statuses.get(`${response.statusCode} ${body.code}`) ?? 0) + 1);
          expect(response.statusCode, response.body).to.equal(401);
          expect(response.headers["content-type"]).to.equal("application/problem+json");
          expect(CODES).to.include(body.code);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await fx.items(), "nothing written").to.have.length(0);
    // Every check was reached by some mutation.
    expect([...statuses.keys()]).to.include.members(CODES.map((c) => `401 ${c}`));
  });
});
