/**
 * `npm run keys` against a running local stack: create / list / revoke round trip through
 * runKeysCli (the same function the command runs), checked against the API over HTTP. The stack
 * runs with authorizerCacheTtlSeconds 0 so a revocation shows at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { API_KEY_PATTERN, generateApiKey, sha256Hex } from "../../handlers/lib/auth/apiKeys";
import { runKeysCli, type KeysCliResult } from "../../cli/keys";
import { API_KEYS_TABLE } from "../../handlers/lib/primitives/tables";
import { stackSettings } from "../../local/config";
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STACK_FILE, type LocalStack } from "../../local/stack";
import { ensureTable } from "../../local/tables";
import { closedEndpoint } from "../support/faults";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

const EVENT = { event_type: "cli.check", payload: { ok: true } };

interface CreatedKey {
  key_id: string;
  name: string;
  scopes: string[];
  created_at: string;
  revoked_at?: string;
  api_key: string;
}

describe("keys CLI against the local stack", () => {
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let env: NodeJS.ProcessEnv;
  /** The key `create` made in the first test; the later tests build on it. */
  let created: CreatedKey;

  const keys = (...argv: string[]): Promise<KeysCliResult> => runKeysCli(argv, env);

  function expectUsageError(result: KeysCliResult, message: RegExp): void {
    expect(result.exitCode, result.stderr).to.equal(2);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.match(message).and.include("usage: npm run keys");
  }

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    stack = await startTestStack(dataDir, { settings: { authorizerCacheTtlSeconds: 0 } });
    env = { DATA_DIR: dataDir }; // found through $DATA_DIR/local-stack.json, as `npm run keys` finds `npm run dev`
  });
  after(async () => {
    await stack?.close();
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe("create", () => {
    it("create --name x --scopes ingest --json prints the new key once, with its record but no digest", async () => {
      const result = await keys("create", "--name", "x", "--scopes", "ingest", "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(result.stderr).to.equal("");
      created = JSON.parse(result.stdout) as CreatedKey;
      expect(created.api_key).to.match(/^eik_/).and.match(API_KEY_PATTERN);
      expect(created).to.include({ key_id: API_KEY_PATTERN.exec(created.api_key)![1], name: "x" });
      expect(created.scopes).to.deep.equal(["ingest"]);
      expect(Date.parse(created.created_at)).to.not.be.NaN;
      expect(created).to.not.have.property("secret_sha256");
      expect(result.stdout).to.not.include(sha256Hex(API_KEY_PATTERN.exec(created.api_key)![2]!));
    });

    it("the created key is accepted by the API (201) and recorded as the event's source", async () => {
      const response = await call(stack, "POST", "/events", { key: created.api_key, body: EVENT });
      expect(response.status, response.text).to.equal(201);
      expect(logs.of("authorize", response.requestId).map((l) => [l.decision, l.key_id])).to.deep.equal([["allow", created.key_id]]);
    });

    it("without --json prints the key once with a warning that it is not shown again", async () => {
      const result = await keys("create", "--name", "human");
      expect(result.exitCode, result.stderr).to.equal(0);
      const apiKey = result.stdout.match(/eik_\S+/)?.[0];
      expect(apiKey).to.match(API_KEY_PATTERN);
      expect(result.stdout).to.match(/not shown again/).and.include("scopes ingest,read,ack,replay");
    });

    it("exits 2 with usage when --name is missing", async () => {
      expectUsageError(await keys("create", "--scopes", "ingest"), /create needs --name/);
    });

    it("exits 2 on an unknown scope", async () => {
      expectUsageError(await keys("create", "--name", "y", "--scopes", "ingest,admin"), /unknown scope "admin"/);
    });
  });

  describe("list", () => {
    it("list --json includes the new key, the local key, and no digest or plaintext key", async () => {
      const result = await keys("list", "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      const listed = JSON.parse(result.stdout) as Record<string, unknown>[];
      const ours = listed.find((k) => k.key_id === created.key_id);
      expect(ours).to.deep.include({ name: "x", scopes: ["ingest"], created_at: created.created_at });
      expect(ours).to.not.have.property("revoked_at");
      expect(listed.map((k) => k.name)).to.include("local");
      for (const key of listed) expect(key).to.not.have.property("secret_sha256");
      expect(result.stdout).to.not.include("secret_sha256");
      expect(result.stdout).to.not.include(created.api_key);
      expect(result.stdout).to.not.include(API_KEY_PATTERN.exec(created.api_key)![2]);
    });

    it("the text listing shows the key as active and never the plaintext key", async () => {
      const result = await keys("list");
      expect(result.exitCode, result.stderr).to.equal(0);
      const line = result.stdout.split("\n").find((l) => l.startsWith(created.key_id));
      expect(line).to.match(/\bactive\b/).and.match(/\bx$/);
      expect(result.stdout).to.not.include(created.api_key);
      expect(result.stdout).to.not.include(stack.createdApiKey!);
      expect(result.stdout).to.not.include("eik_");
    });

    it("--endpoint reaches the local store without DYNAMODB_PORT", async () => {
      const result = await runKeysCli(["list", "--json", "--endpoint", stack.dynamoEndpoint], {});
      expect(result.exitCode, result.stderr).to.equal(0);
      expect((JSON.parse(result.stdout) as { key_id: string }[]).map((k) => k.key_id)).to.include(created.key_id);
    });

    it("exits 1 with a hint to start `npm run dev` when nothing listens on DYNAMODB_PORT, which overrides DATA_DIR", async () => {
      const closed = await closedEndpoint();
      const result = await runKeysCli(["list"], { DATA_DIR: dataDir, DYNAMODB_PORT: new URL(closed).port });
      expect(result.exitCode).to.equal(1);
      expect(result.stderr).to.match(/npm run dev/).and.include(closed).and.include(`DATA_DIR=${dataDir}`);
    });

    it("finds a stack started on a random DynamoDB port through DATA_DIR alone, with no DYNAMODB_PORT", async () => {
      expect(new URL(stack.dynamoEndpoint).port).not.to.equal("8000");
      const recorded = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_STACK_FILE), "utf8")) as { dynamoEndpoint: string; pid: number };
      expect(recorded).to.include({ dynamoEndpoint: stack.dynamoEndpoint, pid: process.pid });
      const result = await runKeysCli(["list", "--json"], { DATA_DIR: dataDir });
      expect(result.exitCode, result.stderr).to.equal(0);
      expect((JSON.parse(result.stdout) as { key_id: string }[]).map((k) => k.key_id)).to.include(created.key_id);
    });
  });

  describe("issue 16: the ack scope and key names", () => {
    it("gives a new key every scope by default (--scopes ingest,read,ack,replay), as the old default could ack through read", async () => {
      const result = await keys("create", "--name", "default-scopes", "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      expect((JSON.parse(result.stdout) as CreatedKey).scopes).to.deep.equal(["ingest", "read", "ack", "replay"]);
    });

    it("creates a read-only key that the API refuses to ack with (403 insufficient_scope), and an ack key that may", async () => {
      const writer = JSON.parse((await keys("create", "--name", "w", "--scopes", "ingest", "--json")).stdout) as CreatedKey;
      const reader = JSON.parse((await keys("create", "--name", "dashboard", "--scopes", "read", "--json")).stdout) as CreatedKey;
      const consumer = JSON.parse((await keys("create", "--name", "consumer", "--scopes", "read,ack", "--json")).stdout) as CreatedKey;
      const eventId = (await call(stack, "POST", "/events", { key: writer.api_key, body: EVENT })).json<{ event_id: string }>().event_id;
      const denied = await call(stack, "POST", `/events/${eventId}/ack`, { key: reader.api_key });
      expect(denied.status, denied.text).to.equal(403);
      expect(denied.json()).to.include({ code: "insufficient_scope" });
      expect((await call(stack, "POST", `/events/${eventId}/ack`, { key: consumer.api_key })).status).to.equal(200);
    });

    it("exits 2 and creates nothing for a --name with control characters (ESC, BEL, newline, DEL, C1, a bidi override)", async () => {
      const before = (JSON.parse((await keys("list", "--json")).stdout) as unknown[]).length;
      for (const name of ["\u001b]0;owned\u0007", "two\nlines", "del\u007f", "c1\u009b31m", "rtl\u202Eexe.txt", "", "n".repeat(101)]) {
        const result = await keys("create", "--name", name);
        expect(result.exitCode, JSON.stringify(name)).to.equal(2);
        expect(result.stderr).to.match(/--name/);
        expect(result.stderr + result.stdout).to.not.include(name || "\u0000");
      }
      expect((JSON.parse((await keys("list", "--json")).stdout) as unknown[]).length).to.equal(before);
      expect((await keys("create", "--name", "Jürgen's dashboard (prod) #2")).exitCode).to.equal(0);
    });

    it("lists a key issued before the ack scope as read(+ack) with a note to reissue it, and escapes control characters stored by other tools", async () => {
      const { record } = generateApiKey("old\u001b[2Jconsumer", ["read"]);
      const { scope_version: _v, ...legacy } = record;
      const doc = localDocumentClient(stack);
      await doc.send(new PutCommand({ TableName: stack.apiKeysTable, Item: legacy }));
      doc.destroy();
      const result = await keys("list");
      const line = result.stdout.split("\n").find((l) => l.startsWith(record.key_id))!;
      expect(line).to.include("read(+ack)").and.include("old\\u{1b}[2Jconsumer");
      expect(result.stdout).to.not.include("\u001b");
      expect(result.stdout).to.match(/issued before the ack scope/);
      const listed = JSON.parse((await keys("list", "--json")).stdout) as Record<string, unknown>[];
      expect(listed.find((k) => k.key_id === record.key_id)).to.not.have.property("scope_version");
    });
  });

  describe("revoke", () => {
    it("revoke <id> --json sets revoked_at, list shows it, and the API denies the key (403)", async () => {
      const result = await keys("revoke", created.key_id, "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      const revoked = JSON.parse(result.stdout) as CreatedKey;
      expect(revoked).to.include({ key_id: created.key_id });
      expect(Date.parse(revoked.revoked_at!)).to.be.closeTo(Date.now(), 60_000);
      expect(revoked).to.not.have.property("secret_sha256");

      const listed = JSON.parse((await keys("list", "--json")).stdout) as CreatedKey[];
      expect(listed.find((k) => k.key_id === created.key_id)?.revoked_at).to.equal(revoked.revoked_at);
      expect((await keys("list")).stdout.split("\n").find((l) => l.startsWith(created.key_id))).to.match(/\brevoked\b/);

      const response = await call(stack, "POST", "/events", { key: created.api_key, body: EVENT });
      expect(response.status, response.text).to.equal(403);
      expect(response.json()).to.deep.equal({ message: "Forbidden" });
    });

    it("says when a revoked key stops working: at once for the local stack's TTL 0", async () => {
      const key = JSON.parse((await keys("create", "--name", "short-lived", "--json")).stdout) as CreatedKey;
      const result = await keys("revoke", key.key_id);
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/not cached \(authorizerCacheTtlSeconds 0, the running local stack\): the next request with this key gets 403/);
    });

    it("says when a revoked key stops working on a deployed table: revoked_at + the stack's authorizerCacheTtlSeconds from Pulumi.<stack>.yaml", async () => {
      // A table named like the prod stack's, served by the local dynalite.
      const table = "event-ingestion-prod-api-keys";
      const client = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      await ensureTable(client, API_KEYS_TABLE, table);
      client.destroy();
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" }); // the SDK's default chain signs
      try {
        const deployed = (...argv: string[]) => runKeysCli([...argv, "--table", table, "--region", LOCAL_REGION, "--endpoint", stack.dynamoEndpoint], {});
        const key = JSON.parse((await deployed("create", "--name", "prod-sender", "--json")).stdout) as CreatedKey;
        const revoked = JSON.parse((await deployed("revoke", key.key_id, "--json")).stdout) as CreatedKey & { authorizer_cache_ttl_seconds: number; accepted_until: string };
        const ttl = stackSettings("prod").authorizerCacheTtlSeconds;
        expect(ttl).to.be.greaterThan(0);
        expect(revoked.authorizer_cache_ttl_seconds).to.equal(ttl);
        expect(Date.parse(revoked.accepted_until) - Date.parse(revoked.revoked_at!)).to.equal(ttl * 1000);
        const text = await deployed("revoke", key.key_id);
        expect(text.stdout).to.include(`for ${ttl} s (authorizerCacheTtlSeconds, Pulumi.prod.yaml)`).and.match(/can still be accepted until \S+Z at the latest/);
      } finally {
        for (const [name, value] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.secret]] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });

    it("exits 1 for an unknown key id", async () => {
      const result = await keys("revoke", "0000000000000000");
      expect(result.exitCode).to.equal(1);
      expect(result.stdout).to.equal("");
      expect(result.stderr).to.match(/no key with id 0000000000000000/);
    });

    it("exits 2 without a key id", async () => {
      expectUsageError(await keys("revoke"), /revoke needs a key id/);
    });
  });
});
