/**
 * The three signature schemes against deliveries signed by the senders' own libraries: each accepts
 * what its library signs and rejects a tampered body, a wrong secret, a stale or future timestamp
 * and a missing header, with the code of the check that failed.
 */
import { expect } from "chai";
import { createHmac } from "node:crypto";
import {
  generateSecret,
  secretProblem,
  verifySignature,
  WEBHOOK_SCHEMES,
  type VerifyOptions,
  type WebhookScheme,
} from "../../handlers/lib/webhooks/signatures";
import { decodeSecrets, encodeSecrets } from "../../handlers/lib/webhooks/sources";
import { sampleBody, SIGNATURE_HEADERS, signDelivery, type SignedDelivery } from "../support/webhookSenders";

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z

function verify(scheme: WebhookScheme, delivery: SignedDelivery, options: Partial<VerifyOptions> & { secrets: string[] }) {
  const headers = new Map(Object.entries(delivery.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return verifySignature(scheme, (name) => headers.get(name), Buffer.from(delivery.body, "utf8"), {
    nowSeconds: NOW,
    toleranceSeconds: 300,
    ...options,
  });
}

describe("webhook signature schemes (signed by the senders' libraries)", () => {
  for (const scheme of WEBHOOK_SCHEMES) {
    describe(scheme, () => {
      const secret = generateSecret(scheme);
      const other = generateSecret(scheme);
      const sign = (overrides: { body?: string; secret?: string; timestampSeconds?: number; deliveryId?: string } = {}) =>
        signDelivery(scheme, { secret, body: sampleBody(scheme), timestampSeconds: NOW, ...overrides });

      it("accepts what the sender's library signs", async () => {
        const result = verify(scheme, await sign({ deliveryId: "delivery-1" }), { secrets: [secret] });
        expect(result.ok).to.equal(true);
        if (scheme !== "stripe") expect(result).to.include({ deliveryId: "delivery-1" });
        if (scheme === "github") expect(result).to.include({ eventName: "push" });
      });

      it("rejects a tampered body as invalid_signature", async () => {
        const delivery = await sign();
        const tampered = { ...delivery, body: delivery.body.replace(/\d/, (d) => String((Number(d) + 1) % 10)) };
        expect(tampered.body).to.not.equal(delivery.body);
        expect(verify(scheme, tampered, { secrets: [secret] })).to.deep.equal({ ok: false, code: "invalid_signature" });
      });

      it("rejects one extra byte (a re-serialized body) as invalid_signature", async () => {
        const delivery = await sign();
        expect(verify(scheme, { ...delivery, body: delivery.body + "\n" }, { secrets: [secret] })).to.deep.equal({ ok: false, code: "invalid_signature" });
      });

      it("rejects a delivery signed with another secret as invalid_signature", async () => {
        expect(verify(scheme, await sign({ secret: other }), { secrets: [secret] })).to.deep.equal({ ok: false, code: "invalid_signature" });
      });

      it("accepts either of two secrets during a rotation, and neither once the old one is dropped", async () => {
        expect(verify(scheme, await sign({ secret: other }), { secrets: [secret, other] }).ok).to.equal(true);
        expect(verify(scheme, await sign({ secret }), { secrets: [secret, other] }).ok).to.equal(true);
        expect(verify(scheme, await sign({ secret: other }), { secrets: [secret] }).ok).to.equal(false);
      });

      for (const missing of SIGNATURE_HEADERS[scheme]) {
        it(`rejects a delivery without ${missing} as missing_signature_headers`, async () => {
          const delivery = await sign();
          const headers = Object.fromEntries(Object.entries(delivery.headers).filter(([k]) => k !== missing));
          expect(verify(scheme, { ...delivery, headers }, { secrets: [secret] })).to.deep.equal({ ok: false, code: "missing_signature_headers" });
        });
      }

      if (scheme === "github") {
        it("has no timestamp to check: GitHub signs none (replays are caught by the delivery id)", async () => {
          expect(verify(scheme, await sign({ timestampSeconds: NOW - 86_400 }), { secrets: [secret] }).ok).to.equal(true);
        });
      } else {
        it("rejects a timestamp older than the tolerance as timestamp_out_of_tolerance, and accepts one just inside", async () => {
          expect(verify(scheme, await sign({ timestampSeconds: NOW - 301 }), { secrets: [secret] })).to.deep.equal({ ok: false, code: "timestamp_out_of_tolerance" });
          expect(verify(scheme, await sign({ timestampSeconds: NOW - 300 }), { secrets: [secret] }).ok).to.equal(true);
        });

        it("rejects a timestamp further in the future than the tolerance", async () => {
          expect(verify(scheme, await sign({ timestampSeconds: NOW + 301 }), { secrets: [secret] })).to.deep.equal({ ok: false, code: "timestamp_out_of_tolerance" });
        });

        it("honours a configured tolerance", async () => {
          const delivery = await sign({ timestampSeconds: NOW - 60 });
          expect(verify(scheme, delivery, { secrets: [secret], toleranceSeconds: 30 })).to.deep.equal({ ok: false, code: "timestamp_out_of_tolerance" });
          expect(verify(scheme, delivery, { secrets: [secret], toleranceSeconds: 60 }).ok).to.equal(true);
        });
      }
    });
  }

  describe("several signatures in one header", () => {
    it("Standard Webhooks: accepts a space-separated list where any v1 signature matches, ignoring other versions", async () => {
      const secret = generateSecret("standard");
      const body = sampleBody("standard");
      const good = await signDelivery("standard", { secret, body, timestampSeconds: NOW, deliveryId: "msg_1" });
      const bad = await signDelivery("standard", { secret: generateSecret("standard"), body, timestampSeconds: NOW, deliveryId: "msg_1" });
      const header = `v1a,${"A".repeat(86)}== ${bad.headers["webhook-signature"]} ${good.headers["webhook-signature"]}`;
      expect(verify("standard", { body, headers: { ...good.headers, "webhook-signature": header } }, { secrets: [secret] }).ok).to.equal(true);
      expect(verify("standard", { body, headers: { ...good.headers, "webhook-signature": `v2,${good.headers["webhook-signature"]!.slice(3)}` } }, { secrets: [secret] })).to.deep.equal({ ok: false, code: "invalid_signature" });
    });

    it("Standard Webhooks: refuses an empty signature (`v1,`) and every truncated prefix of the right one", async () => {
      const secret = generateSecret("standard");
      const body = sampleBody("standard");
      const good = await signDelivery("standard", { secret, body, timestampSeconds: NOW, deliveryId: "msg_1" });
      const right = good.headers["webhook-signature"]!.slice(3);
      const digest = Buffer.from(right, "base64");
      expect(verify("standard", good, { secrets: [secret] }).ok).to.equal(true);
      const candidates = ["v1,", "v1,=", ...[1, 4, 16, 31].map((n) => `v1,${digest.subarray(0, n).toString("base64")}`), `v1,${right.slice(0, -4)}`];
      for (const signature of candidates) {
        expect(verify("standard", { body, headers: { ...good.headers, "webhook-signature": signature } }, { secrets: [secret] }), signature).to.deep.equal({ ok: false, code: "invalid_signature" });
      }
    });

    it("GitHub and Stripe: refuse an empty or truncated hex signature", async () => {
      const github = generateSecret("github");
      const signed = await signDelivery("github", { secret: github, body: sampleBody("github") });
      const hex = signed.headers["x-hub-signature-256"]!.slice("sha256=".length);
      for (const value of ["sha256=", `sha256=${hex.slice(0, 2)}`, `sha256=${hex.slice(0, 62)}`]) {
        expect(verify("github", { ...signed, headers: { ...signed.headers, "x-hub-signature-256": value } }, { secrets: [github] }), value).to.deep.equal({ ok: false, code: "invalid_signature" });
      }
      const stripeSecret = generateSecret("stripe");
      const body = sampleBody("stripe");
      const good = await signDelivery("stripe", { secret: stripeSecret, body, timestampSeconds: NOW });
      const v1 = /v1=([0-9a-f]+)/.exec(good.headers["stripe-signature"]!)![1]!;
      for (const value of [`t=${NOW},v1=`, `t=${NOW},v1=${v1.slice(0, 2)}`, `t=${NOW},v1=${v1.slice(0, 62)}`]) {
        expect(verify("stripe", { body, headers: { "stripe-signature": value } }, { secrets: [stripeSecret] }), value).to.deep.equal({ ok: false, code: "invalid_signature" });
      }
    });

    it("Stripe: accepts several v1 entries where one matches, and ignores v0", async () => {
      const secret = generateSecret("stripe");
      const body = sampleBody("stripe");
      const good = await signDelivery("stripe", { secret, body, timestampSeconds: NOW });
      const v1 = /v1=([0-9a-f]+)/.exec(good.headers["stripe-signature"]!)![1]!;
      const header = `t=${NOW},v1=${"0".repeat(64)},v0=${v1},v1=${v1}`;
      expect(verify("stripe", { body, headers: { "stripe-signature": header } }, { secrets: [secret] }).ok).to.equal(true);
      expect(verify("stripe", { body, headers: { "stripe-signature": `t=${NOW},v0=${v1}` } }, { secrets: [secret] })).to.deep.equal({ ok: false, code: "invalid_signature" });
    });
  });

  describe("secrets", () => {
    it("generates secrets each scheme accepts, and names what is wrong with one it cannot use", () => {
      for (const scheme of WEBHOOK_SCHEMES) expect(secretProblem(scheme, generateSecret(scheme)), scheme).to.equal(undefined);
      expect(secretProblem("standard", "not-base64")).to.match(/whsec_/);
      expect(secretProblem("standard", "whsec_" + Buffer.alloc(8).toString("base64"))).to.match(/24 to 64/);
      expect(secretProblem("stripe", "sk_live_abc")).to.match(/whsec_/);
      expect(secretProblem("github", "short")).to.match(/16 characters/);
      expect(secretProblem("github", " padded-secret-value ")).to.match(/whitespace/);
    });

    it("decodeSecrets re-checks every secret in a parameter with the scheme's rule: never an empty or weak HMAC key", () => {
      for (const scheme of WEBHOOK_SCHEMES) {
        const good = generateSecret(scheme);
        expect(decodeSecrets(encodeSecrets([good]), scheme)).to.deep.equal([good]);
        expect(decodeSecrets(encodeSecrets([good, generateSecret(scheme)]), scheme)).to.have.length(2);
        for (const value of ["", '""', "[]", '[""]', "{}", "[1]", encodeSecrets([good, good, good])]) {
          expect(() => decodeSecrets(value, scheme), `${scheme} ${value}`).to.throw(/secret/);
        }
      }
      // whsec_A decodes to a zero-byte key: anyone could sign with it.
      expect(() => decodeSecrets('["whsec_A"]', "standard")).to.throw(/24 to 64/);
      expect(() => decodeSecrets('["whsec_A"]', "stripe")).to.throw(/16 characters/);
      expect(() => decodeSecrets('["short"]', "github")).to.throw(/16 characters/);
      try {
        decodeSecrets('["s3cr3t-but-short"," padded-secret-value "]', "github");
        expect.fail("accepted a padded secret");
      } catch (error) {
        expect((error as Error).message).to.not.include("padded-secret-value"); // never quotes a secret
      }
    });

    it("never verifies with an empty key, even when a caller skipped decodeSecrets", async () => {
      const body = sampleBody("standard");
      const emptyKeySignature = createHmac("sha256", Buffer.alloc(0)).update(`msg_1.${NOW}.${body}`).digest("base64");
      const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(NOW), "webhook-signature": `v1,${emptyKeySignature}` };
      expect(() => verify("standard", { body, headers }, { secrets: ["whsec_A"] })).to.throw(/empty HMAC key/);
    });
  });
});
