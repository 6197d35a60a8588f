/**
 * The API key authorizer against a real keys table in dynalite, and the key format itself.
 * Every failure denies; no log line carries a key or its secret.
 */
import { expect } from "chai";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { API_KEY_PATTERN, generateApiKey, sha256Hex, verifyApiKey, type ApiKeyRecord, type KeyLookup } from "../../handlers/lib/auth/apiKeys";
import { createAuthorizer, dynamoKeyLookup } from "../../handlers/lib/auth/authorize";
import { createDocumentClient } from "../../handlers/lib/store/store";
import { API_KEYS_TABLE } from "../../handlers/lib/primitives/tables";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { authorizerEvent } from "../support/events";
import { closedEndpoint } from "../support/faults";

const CROCKFORD_LOWER = "0123456789abcdefghjkmnpqrstvwxyz";

/** The key with one character of its secret changed to another valid one. */
function withWrongSecret(apiKey: string): string {
  const last = apiKey.at(-1)!;
  return apiKey.slice(0, -1) + (last === "0" ? "1" : "0");
}

/** The part after the last "_" (no pattern match, so a malformed key still yields something to assert on). */
function secretOf(apiKey: string): string {
  return apiKey.slice(apiKey.lastIndexOf("_") + 1);
}

describe("API key authorizer (against dynalite)", () => {
  const suite = useDynalite();

  /** A fresh keys table holding `records`, and an authorizer over it. */
  async function authorizerWith(...records: ApiKeyRecord[]) {
    const table = await suite.freshTable(API_KEYS_TABLE, "api-keys");
    for (const record of records) await suite.dynamo.doc.send(new PutCommand({ TableName: table, Item: record }));
    return { table, authorize: createAuthorizer(dynamoKeyLookup(suite.dynamo.doc, table)) };
  }

  it('allows a valid key with context {key_id, scopes: "ingest read"}', async () => {
    const key = generateApiKey("ci", ["ingest", "read"]);
    const { authorize } = await authorizerWith(key.record);
    const result = await authorize(authorizerEvent(`Bearer ${key.apiKey}`));
    expect(result).to.deep.equal({ isAuthorized: true, context: { key_id: key.record.key_id, scopes: "ingest read" } });
    const [line] = suite.logs.withMessage("authorize");
    expect(line).to.include({ decision: "allow", key_id: key.record.key_id, level: "INFO" });
  });

  it("passes on only the scopes the key carries", async () => {
    const key = generateApiKey("reader", ["read"]);
    const { authorize } = await authorizerWith(key.record);
    expect(await authorize(authorizerEvent(`Bearer ${key.apiKey}`))).to.deep.equal({
      isAuthorized: true,
      context: { key_id: key.record.key_id, scopes: "read" },
    });
  });

  it('accepts a lower-case "bearer" scheme', async () => {
    const key = generateApiKey("ci", ["ingest"]);
    const { authorize } = await authorizerWith(key.record);
    expect((await authorize(authorizerEvent(`bearer ${key.apiKey}`))).isAuthorized).to.equal(true);
  });

  it("reads the key from the Authorization header when identitySource is empty", async () => {
    const key = generateApiKey("ci", ["ingest"]);
    const { authorize } = await authorizerWith(key.record);
    const event = { ...authorizerEvent(`Bearer ${key.apiKey}`), identitySource: [] };
    expect((await authorize(event)).isAuthorized).to.equal(true);
  });

  describe("denies", () => {
    const denied = { isAuthorized: false, context: {} };

    it("an unknown key id (a well-formed key that was never stored)", async () => {
      const stored = generateApiKey("stored", ["ingest"]);
      const stranger = generateApiKey("never stored", ["ingest"]);
      const { authorize } = await authorizerWith(stored.record);
      expect(await authorize(authorizerEvent(`Bearer ${stranger.apiKey}`))).to.deep.equal(denied);
      expect(suite.logs.withMessage("authorize")[0]).to.include({ decision: "deny", reason: "unknown_key", key_id: stranger.record.key_id });
    });

    it("a known key id with the wrong secret", async () => {
      const key = generateApiKey("ci", ["ingest"]);
      const { authorize } = await authorizerWith(key.record);
      expect(await authorize(authorizerEvent(`Bearer ${withWrongSecret(key.apiKey)}`))).to.deep.equal(denied);
      expect(suite.logs.withMessage("authorize")[0]).to.include({ decision: "deny", reason: "wrong_secret", key_id: key.record.key_id });
    });

    it("a revoked key (revoked_at set), even with the right secret", async () => {
      const key = generateApiKey("ci", ["ingest", "read"]);
      const { authorize } = await authorizerWith({ ...key.record, revoked_at: "2026-01-02T00:00:00.000Z" });
      expect(await authorize(authorizerEvent(`Bearer ${key.apiKey}`))).to.deep.equal(denied);
      expect(suite.logs.withMessage("authorize")[0]).to.include({ decision: "deny", reason: "revoked" });
    });

    const key = generateApiKey("shape", ["ingest"]);
    const keyId = key.record.key_id;
    const secret = secretOf(key.apiKey);
    const malformed: [string, string | undefined][] = [
      ["no Authorization header", undefined],
      ["an empty header", ""],
      ["the key without the Bearer scheme", key.apiKey],
      ["the Basic scheme", `Basic ${key.apiKey}`],
      ["garbage after Bearer", "Bearer not-a-key"],
      ["two tokens after Bearer", `Bearer ${key.apiKey} extra`],
      ["a key id one character short", `Bearer eik_${keyId.slice(1)}_${secret}`],
      ["a key id one character long", `Bearer eik_${keyId}0_${secret}`],
      ["a secret one character short", `Bearer eik_${keyId}_${secret.slice(1)}`],
      ["a secret one character long", `Bearer eik_${keyId}_${secret}0`],
      ["an upper-cased key", `Bearer ${key.apiKey.toUpperCase()}`],
      ["a key with a character outside Crockford base32", `Bearer eik_${keyId}_${secret.slice(0, -1)}u`],
    ];
    for (const [what, authorization] of malformed) {
      it(`a malformed header: ${what}, without looking the key up`, async () => {
        const { table } = await authorizerWith(key.record);
        const lookup = dynamoKeyLookup(suite.dynamo.doc, table);
        const lookups: string[] = [];
        const authorize = createAuthorizer((keyId) => (lookups.push(keyId), lookup(keyId)));
        expect(await authorize(authorizerEvent(authorization))).to.deep.equal(denied);
        expect(lookups).to.deep.equal([]);
        const [line] = suite.logs.withMessage("authorize");
        expect(line).to.include({ decision: "deny", reason: "malformed" });
        expect(line).not.to.have.property("key_id");
      });
    }
  });

  describe("fails the invocation on a storage fault (API Gateway answers 500 and caches nothing), never a cached deny", () => {
    it("when the keys table is unreachable (connection refused)", async () => {
      const key = generateApiKey("ci", ["ingest"]);
      const doc = createDocumentClient({ endpoint: await closedEndpoint(), region: "eu-north-1", credentials: TEST_CREDENTIALS });
      try {
        const authorize = createAuthorizer(dynamoKeyLookup(doc, "api-keys-unreachable"));
        const failure = await authorize(authorizerEvent(`Bearer ${key.apiKey}`)).then(() => undefined, (error: Error) => error);
        expect(failure?.message).to.match(/^api key lookup failed \(\w+\); the request may be retried$/);
        expect(failure?.message).not.to.include(key.apiKey);
        expect(suite.logs.withMessage("authorize")[0]).to.include({ decision: "error", reason: "error", level: "ERROR" });
      } finally {
        doc.destroy();
      }
    });

    it("when the keys table does not exist", async () => {
      const key = generateApiKey("ci", ["ingest"]);
      const authorize = createAuthorizer(dynamoKeyLookup(suite.dynamo.doc, "api-keys-missing"));
      const failure = await authorize(authorizerEvent(`Bearer ${key.apiKey}`)).then(() => undefined, (error: Error) => error);
      expect(failure?.message).to.equal("api key lookup failed (ResourceNotFoundException); the request may be retried");
      expect(suite.logs.withMessage("authorize")[0]).to.include({ decision: "error", reason: "error", error: "ResourceNotFoundException" });
    });
  });

  it("writes one authorize line per request and never the key or its secret, whatever the outcome", async () => {
    const key = generateApiKey("ci", ["ingest", "read"]);
    const revoked = generateApiKey("old", ["ingest"]);
    const { authorize } = await authorizerWith(key.record, { ...revoked.record, revoked_at: "2026-01-02T00:00:00.000Z" });
    const headers = [
      `Bearer ${key.apiKey}`,
      `Bearer ${withWrongSecret(key.apiKey)}`,
      `Bearer ${revoked.apiKey}`,
      `Bearer ${key.apiKey}x`,
      key.apiKey,
    ];
    for (const header of headers) await authorize(authorizerEvent(header));

    const lines = suite.logs.withMessage("authorize");
    expect(lines).to.have.length(headers.length);
    for (const line of lines) expect(line.request_id).to.be.a("string").and.match(/^auth-/);
    const everything = suite.logs.raw.join("\n");
    for (const secret of [secretOf(key.apiKey), secretOf(withWrongSecret(key.apiKey)), secretOf(revoked.apiKey)]) {
      expect(everything).not.to.include(secret);
    }
  });
  it("keeps the plaintext out of the keys table: the stored item has secret_sha256 and no secret", async () => {
    const { apiKey, record } = generateApiKey("ci", ["ingest"]);
    const { table } = await authorizerWith(record);
    const items = await suite.dynamo.scanAll(table);
    expect(items).to.have.length(1);
    expect(Object.keys(items[0]!).sort()).to.deep.equal(["created_at", "key_id", "name", "scope_version", "scopes", "secret_sha256"]);
    expect(JSON.stringify(items)).not.to.include(secretOf(apiKey));
    expect(items[0]!.secret_sha256).to.equal(sha256Hex(secretOf(apiKey)));
  });
});

describe("API keys (handlers/lib/auth/apiKeys)", () => {
  describe("generateApiKey", () => {
    it("stores only the SHA-256 of the secret, never the plaintext key or secret", async () => {
      const now = new Date("2026-01-01T00:00:00.000Z");
      const { apiKey, record } = generateApiKey("billing", ["ingest"], now);
      const secret = secretOf(apiKey);
      expect(record).to.deep.equal({
        key_id: API_KEY_PATTERN.exec(apiKey)![1],
        secret_sha256: sha256Hex(secret),
        name: "billing",
        scopes: ["ingest"],
        created_at: "2026-01-01T00:00:00.000Z",
        scope_version: 2,
      });
      expect(JSON.stringify(record)).not.to.include(secret);
      expect(record.secret_sha256).to.match(/^[0-9a-f]{64}$/);
    });

    it("makes keys that match API_KEY_PATTERN with a secret of at least 128 bits", () => {
      for (let i = 0; i < 50; i++) {
        const { apiKey } = generateApiKey("k", ["read"]);
        expect(apiKey).to.match(API_KEY_PATTERN);
        const secret = secretOf(apiKey);
        expect([...secret].every((c) => CROCKFORD_LOWER.includes(c))).to.equal(true);
        expect(secret.length * Math.log2(CROCKFORD_LOWER.length)).to.be.at.least(128);
      }
    });

    it("makes a different key id and secret every time", () => {
      const keys = Array.from({ length: 2_000 }, () => generateApiKey("k", ["read"]));
      expect(new Set(keys.map((k) => k.record.key_id)).size).to.equal(keys.length);
      expect(new Set(keys.map((k) => secretOf(k.apiKey))).size).to.equal(keys.length);
    });

    it("uses every Crockford character in secrets (the secret is random, not a fixed pattern)", () => {
      const seen = new Set(Array.from({ length: 200 }, () => secretOf(generateApiKey("k", ["read"]).apiKey)).join(""));
      expect([...seen].sort().join("")).to.equal(CROCKFORD_LOWER);
    });
  });

  describe("verifyApiKey", () => {
    const key = generateApiKey("ci", ["ingest", "read"]);
    let lookups: string[];
    const lookupOf =
      (...records: ApiKeyRecord[]): KeyLookup =>
      async (keyId) => {
        lookups.push(keyId);
        return records.find((r) => r.key_id === keyId);
      };
    beforeEach(() => {
      lookups = [];
    });

    it("returns ok with the key id and scopes for the right key", async () => {
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(key.record))).to.deep.equal({
        ok: true,
        keyId: key.record.key_id,
        scopes: ["ingest", "read"],
      });
    });

    it("tolerates surrounding whitespace and several spaces after Bearer", async () => {
      expect((await verifyApiKey(`  Bearer   ${key.apiKey}  `, lookupOf(key.record))).ok).to.equal(true);
    });

    it('returns "malformed" without a lookup for a header that is not Bearer <key>', async () => {
      for (const header of [undefined, "", "Bearer", key.apiKey, `Token ${key.apiKey}`, `Bearer ${key.apiKey.replace("eik_", "sk_")}`]) {
        expect(await verifyApiKey(header, lookupOf(key.record)), String(header)).to.deep.equal({ ok: false, reason: "malformed" });
      }
      expect(lookups).to.deep.equal([]);
    });

    it('returns "unknown_key" for a key id the store does not have', async () => {
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf())).to.deep.equal({ ok: false, reason: "unknown_key", keyId: key.record.key_id });
      expect(lookups).to.deep.equal([key.record.key_id]);
    });

    it('returns "wrong_secret" when the secret does not hash to secret_sha256', async () => {
      expect(await verifyApiKey(`Bearer ${withWrongSecret(key.apiKey)}`, lookupOf(key.record))).to.deep.equal({
        ok: false,
        reason: "wrong_secret",
        keyId: key.record.key_id,
      });
    });

    it('returns "wrong_secret" for a stored digest that is not 64 hex characters', async () => {
      const damaged = { ...key.record, secret_sha256: "" };
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(damaged))).to.include({ ok: false, reason: "wrong_secret" });
    });

    it('returns "revoked" for a revoked key with the right secret, and "wrong_secret" (not "revoked") with a wrong one', async () => {
      const revoked = { ...key.record, revoked_at: "2026-01-02T00:00:00.000Z" };
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(revoked))).to.include({ ok: false, reason: "revoked" });
      expect(await verifyApiKey(`Bearer ${withWrongSecret(key.apiKey)}`, lookupOf(revoked))).to.include({ ok: false, reason: "wrong_secret" });
    });

    it("drops scopes it does not know from a stored record", async () => {
      const odd = { ...key.record, scopes: ["read", "admin"] as unknown as ApiKeyRecord["scopes"] };
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(odd))).to.deep.equal({ ok: true, keyId: key.record.key_id, scopes: ["read"] });
    });
  });
});
