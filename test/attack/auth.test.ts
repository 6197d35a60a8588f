/**
 * Authentication under attack: key probing must learn nothing (one answer for every bad key, and
 * the same constant-time comparison whether the key id exists or not), and no key ever reaches a
 * log line. The revocation-after-TTL promise is in test/local/localStack.test.ts.
 */
import * as fs from "node:fs";
import { expect } from "chai";
import { runKeysCli } from "../../cli/keys";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import { API_KEY_PATTERN, generateApiKey, sha256Hex, verifyApiKey, type ApiKeyRecord } from "../../handlers/lib/auth/apiKeys";
import type { RequestLogEntry } from "../../local/gateway";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type ApiCall, type HandlerLogs } from "../support/localStack";
import { captureOutput } from "../support/output";
import { rawRequest } from "../support/rawHttp";

// The CommonJS module object: patching it reaches every `import { timingSafeEqual } from "node:crypto"`
// compiled by tsx, which reads the property at call time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto = require("node:crypto") as typeof import("node:crypto");

const EVENT = { event_type: "auth.probe", payload: { n: 1 } };
/** Headers that differ per response by design. */
const PER_RESPONSE_HEADERS = new Set(["apigw-requestid", "date"]);

function headersOf(response: ApiCall): Record<string, string> {
  return Object.fromEntries([...response.headers.entries()].filter(([name]) => !PER_RESPONSE_HEADERS.has(name)));
}

function secretOf(apiKey: string): string {
  return API_KEY_PATTERN.exec(apiKey)?.[2] ?? apiKey.slice(apiKey.lastIndexOf("_") + 1);
}

/** The key with its last secret character replaced by another valid one. */
function withWrongSecret(apiKey: string): string {
  return apiKey.slice(0, -1) + (apiKey.endsWith("0") ? "1" : "0");
}

describe("authentication under attack", () => {
  describe("verifyApiKey compares in constant time on every path", () => {
    let calls: { a: number; b: number }[];
    let original: typeof nodeCrypto.timingSafeEqual;
    beforeEach(() => {
      calls = [];
      original = nodeCrypto.timingSafeEqual;
      nodeCrypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push({ a: a.byteLength, b: b.byteLength });
        return original(a, b);
      }) as typeof nodeCrypto.timingSafeEqual;
    });
    afterEach(() => {
      nodeCrypto.timingSafeEqual = original;
    });

    it("looks the key id up once and runs one 32-byte crypto.timingSafeEqual for an unknown key id, a wrong secret, a revoked key and the right key alike", async () => {
      const key = generateApiKey("probe", ["ingest"]);
      const revoked = generateApiKey("old", ["ingest"]);
      const records = new Map<string, ApiKeyRecord>([
        [key.record.key_id, key.record],
        [revoked.record.key_id, { ...revoked.record, revoked_at: "2026-01-02T00:00:00.000Z" }],
      ]);
      const lookups: string[] = [];
      const lookup = async (keyId: string) => (lookups.push(keyId), records.get(keyId));
      const cases: [string, string, string | undefined][] = [
        ["unknown key id", generateApiKey("stranger", ["ingest"]).apiKey, "unknown_key"],
        ["wrong secret", withWrongSecret(key.apiKey), "wrong_secret"],
        ["revoked key", revoked.apiKey, "revoked"],
        ["right key", key.apiKey, undefined],
      ];
      for (const [what, apiKey, reason] of cases) {
        calls.length = 0;
        lookups.length = 0;
        const verdict = await verifyApiKey(`Bearer ${apiKey}`, lookup);
        expect(verdict.ok ? undefined : verdict.reason, what).to.equal(reason);
        expect(lookups, what).to.have.length(1);
        expect(calls, `${what}: one constant-time comparison of two SHA-256 digests`).to.deep.equal([{ a: 32, b: 32 }]);
      }
    });

    it("compares against a fixed 32-byte digest, not a shorter or empty one, when the stored digest is corrupt", async () => {
      const key = generateApiKey("corrupt", ["ingest"]);
      const verdict = await verifyApiKey(`Bearer ${key.apiKey}`, async () => ({ ...key.record, secret_sha256: "not-hex" }));
      expect(verdict).to.deep.include({ ok: false, reason: "wrong_secret" });
      expect(calls).to.deep.equal([{ a: 32, b: 32 }]);
    });
  });

  describe("operator → keys CLI", () => {
    it("refuses an ambiguous target before reaching any store: --local with --table, or --table without a region (exit 2)", async () => {
      const env = { PATH: process.env.PATH };
      for (const argv of [["list", "--local", "--table", "prod-keys"], ["revoke", "k", "--table", "prod-keys"]]) {
        const result = await runKeysCli(argv, env);
        expect(result.exitCode, argv.join(" ")).to.equal(2);
        expect(result.stdout).to.equal("");
        expect(result.stderr).to.match(/--local or --table|needs --region/);
      }
    });
  });

  describe("over the local stack", function () {
    this.timeout(60_000);
    let stack: LocalStack;
    let dataDir: string;
    let keys: ApiKeyStore;
    let destroy: () => void;
    let logs: HandlerLogs;
    const gatewayLog: RequestLogEntry[] = [];

    before(async () => {
      logs = captureHandlerLogs();
      dataDir = tempDataDir();
      // A fixed cache TTL: the log test counts one authorize line per distinct Authorization value.
      stack = await startTestStack(dataDir, { onRequest: (entry) => gatewayLog.push(entry), settings: { authorizerCacheTtlSeconds: 300 } });
      const doc = localDocumentClient(stack);
      destroy = () => doc.destroy();
      keys = new ApiKeyStore(doc, stack.apiKeysTable);
    });
    after(async () => {
      destroy?.();
      await stack?.close();
      logs.restore();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("answers an unknown key id, a wrong secret, a revoked key and a malformed key with the same 403: status, body and headers", async () => {
      const active = await keys.create("active", ["ingest"]);
      const old = await keys.create("old", ["ingest"]);
      await keys.revoke(old.record.key_id);
      const probes: [string, string][] = [
        ["unknown_key", generateApiKey("never-stored", ["ingest"]).apiKey],
        ["wrong_secret", withWrongSecret(active.apiKey)],
        ["revoked", old.apiKey],
        ["malformed", `${active.apiKey}x`],
      ];
      const responses: ApiCall[] = [];
      for (const [reason, apiKey] of probes) {
        const response = await call(stack, "POST", "/events", { key: apiKey, body: EVENT });
        expect(logs.of("authorize", response.requestId).map((l) => [l.decision, l.reason]), reason).to.deep.equal([["deny", reason]]);
        expect(logs.of("request", response.requestId), reason).to.have.length(0);
        responses.push(response);
      }
      const [first, ...rest] = responses;
      expect(first!.status).to.equal(403);
      for (const response of rest) {
        expect(response.status).to.equal(first!.status);
        expect(response.text).to.equal(first!.text);
        expect(headersOf(response)).to.deep.equal(headersOf(first!));
      }
    });

    it("keeps the local key file readable and writable by its owner only (mode 600)", () => {
      expect(fs.statSync(stack.keyFile).mode & 0o777).to.equal(0o600);
    });

    it("denies a request carrying two Authorization headers, one of them valid, without running the handler", async () => {
      const active = await keys.create("doubled", ["ingest"]);
      const body = JSON.stringify(EVENT);
      const response = await rawRequest(
        stack.url,
        `POST /events HTTP/1.1\r\nHost: ${new URL(stack.url).host}\r\nAuthorization: Bearer ${active.apiKey}\r\nAuthorization: Bearer garbage\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(response.status).to.equal(403);
      expect(logs.of("request", response.headers["apigw-requestid"]!)).to.have.length(0);
    });

    it("never writes a key to any log line: all output across 70 requests with valid, wrong, revoked, unknown and malformed keys, and keys sent where keys do not belong", async () => {
      const ingestKey = await keys.create("log-ingest", ["ingest", "read"]);
      const readKey = await keys.create("log-read", ["read"]);
      const revoked = await keys.create("log-revoked", ["ingest"]);
      await keys.revoke(revoked.record.key_id);
      const unknown = generateApiKey("log-unknown", ["ingest"]).apiKey;
      const wrong = withWrongSecret(ingestKey.apiKey);
      const secrets = [ingestKey.apiKey, readKey.apiKey, revoked.apiKey, unknown, wrong];

      const output = captureOutput();
      const entriesBefore = gatewayLog.length;
      let created: ApiCall | undefined;
      try {
        for (let round = 0; round < 5; round++) {
          created = await call(stack, "POST", "/events", { key: ingestKey.apiKey, body: { ...EVENT, payload: { round } } });
          await call(stack, "POST", "/events/batch", { key: ingestKey.apiKey, body: { events: [EVENT, { event_type: "", payload: {} }] } });
          await call(stack, "GET", `/events/${created.json<{ event_id: string }>().event_id}`, { key: readKey.apiKey });
          await call(stack, "POST", `/events/${created.json<{ event_id: string }>().event_id}/ack`, { key: readKey.apiKey });
          await call(stack, "GET", "/inbox?limit=1", { key: ingestKey.apiKey });
          await call(stack, "POST", "/events", { key: readKey.apiKey, body: EVENT }); // insufficient scope
          await call(stack, "POST", "/events", { key: ingestKey.apiKey, body: "{not json" });
          for (const bad of [wrong, revoked.apiKey, unknown, `${ingestKey.apiKey}x`, ingestKey.apiKey.toUpperCase()]) {
            await call(stack, "POST", "/events", { key: bad, body: EVENT });
          }
          await call(stack, "POST", "/events", { headers: { authorization: `Basic ${Buffer.from(`user:${ingestKey.apiKey}`).toString("base64")}` }, body: EVENT });
          await call(stack, "POST", `/events?api_key=${ingestKey.apiKey}`, { headers: { "x-api-key": ingestKey.apiKey }, body: EVENT });
        }
      } finally {
        output.restore();
      }

      const everything = [output.text(), ...gatewayLog.slice(entriesBefore).map((entry) => JSON.stringify(entry))].join("\n");
      // The capture saw the traffic: a gateway line per request, an authorize line per distinct
      // Authorization value (the gateway caches decisions), a request line per handler run.
      expect(gatewayLog.length - entriesBefore).to.equal(70);
      expect(everything.match(/"message":"authorize"/g)).to.have.length(8);
      expect(everything.match(/"message":"request"/g)).to.have.length(35);
      expect(everything).to.include(ingestKey.record.key_id); // the public key id is logged, by design
      for (const key of secrets) {
        expect(everything).not.to.include(key);
        expect(everything).not.to.include(secretOf(key));
        expect(everything.toLowerCase()).not.to.include(secretOf(key).toLowerCase());
      }
      expect(everything).not.to.include(Buffer.from(`user:${ingestKey.apiKey}`).toString("base64"));
      expect(everything).not.to.include(sha256Hex(secretOf(ingestKey.apiKey)));
      expect(everything).not.to.match(/Bearer /i);
    });
  });
});
