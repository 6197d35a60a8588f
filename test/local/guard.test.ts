/**
 * Issue 16 (security review), local stack: a web page must not reach dynalite or the API through
 * the developer's browser (Origin, DNS rebinding), the gateway answers 401/403 before it reads a
 * body, keeps a bounded authorizer cache and routes paths as API Gateway does, and DATA_DIR is
 * private to its owner. Each test failed before its fix.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { expect } from "chai";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createGateway, GATEWAY_LIMITS } from "../../local/gateway";
import type { LocalFunction } from "../../local/lambdaHost";
import { guardLocalListener } from "../../local/localGuard";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { HANDLERS, type HandlerName } from "../../handlers/routes";
import { captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";

interface PlainResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (fetch will not set Host); `bodyBytes` are announced, `send` of them written. */
function request(
  url: string,
  init: { method?: string; path?: string; headers?: Record<string, string>; body?: string; announce?: number } = {},
): Promise<PlainResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port: Number(port),
        method: init.method ?? "GET",
        path: init.path ?? "/",
        setHost: false,
        headers: { host: `${hostname}:${port}`, connection: "close", ...init.headers, ...(init.announce === undefined ? {} : { "content-length": String(init.announce) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    if (init.announce !== undefined) {
      req.write(init.body ?? ""); // less than announced: the server must answer without the rest
    } else {
      req.end(init.body);
    }
  });
}

/** dynalite wants a signature's shape and checks nothing in it. */
const SIGNED = {
  authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/eu-north-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
  "x-amz-date": "20260101T000000Z",
};
const dynamoTarget = (operation: string) => ({ "content-type": "application/x-amz-json-1.0", "x-amz-target": `DynamoDB_20120810.${operation}` });

describe("local stack guard (issue 16)", function () {
  this.timeout(60_000); // the AWS CLI starts Python; 1,000 requests fill the authorizer cache
  let logs: HandlerLogs;
  let dataDir: string;
  let stack: LocalStack;
  let doc: DynamoDBDocumentClient;
  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    stack = await startTestStack(dataDir);
    doc = localDocumentClient(stack);
  });
  after(async () => {
    doc?.destroy();
    await stack?.close();
    logs.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const dynamoPort = () => new URL(stack.dynamoEndpoint).port;
  const apiPort = () => new URL(stack.url).port;

  describe("finding 1: dynalite on DYNAMODB_PORT", () => {
    it("refuses a CORS preflight from a web page with 403 and no Access-Control-Allow-Origin", async () => {
      const response = await request(stack.dynamoEndpoint, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-amz-target" },
      });
      expect(response.status).to.equal(403);
      expect(response.headers["access-control-allow-origin"]).to.equal(undefined);
    });

    it("refuses a Scan of the API keys table sent with an Origin header (a page's fetch), and answers no item or digest", async () => {
      const response = await request(stack.dynamoEndpoint, {
        method: "POST",
        headers: { ...dynamoTarget("Scan"), origin: "https://evil.example" },
        body: JSON.stringify({ TableName: stack.apiKeysTable }),
      });
      expect(response.status).to.equal(403);
      expect(response.body).to.not.match(/secret_sha256|Items/);
    });

    it("refuses a request a browser marked with Sec-Fetch-Site even without Origin", async () => {
      const response = await request(stack.dynamoEndpoint, { method: "POST", headers: { ...dynamoTarget("ListTables"), "sec-fetch-site": "cross-site" }, body: "{}" });
      expect(response.status).to.equal(403);
    });

    it("refuses a Host other than 127.0.0.1, localhost or [::1] with its port (DNS rebinding), and the right name with another port", async () => {
      for (const host of [`evil.example:${dynamoPort()}`, `127.0.0.1.nip.io:${dynamoPort()}`, "127.0.0.1:1", "localhost", ""]) {
        const response = await request(stack.dynamoEndpoint, { method: "POST", headers: { ...dynamoTarget("ListTables"), host }, body: "{}" });
        expect(response.status, host).to.equal(403);
        expect(response.body, host).to.not.include(stack.apiKeysTable);
      }
    });

    it("keeps the AWS SDK working through 127.0.0.1, localhost and LOCALHOST (any case)", async () => {
      for (const name of ["127.0.0.1", "localhost"]) {
        const client = new DynamoDBClient({ endpoint: `http://${name}:${dynamoPort()}`, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
        try {
          const { TableNames } = await client.send(new ListTablesCommand({}));
          expect(TableNames, name).to.include(stack.apiKeysTable);
        } finally {
          client.destroy();
        }
      }
      const upper = await request(stack.dynamoEndpoint, { method: "POST", headers: { ...dynamoTarget("ListTables"), ...SIGNED, host: `LOCALHOST:${dynamoPort()}` }, body: "{}" });
      expect(upper.status, upper.body).to.equal(200);
      const { Items } = await doc.send(new ScanCommand({ TableName: stack.apiKeysTable }));
      expect(Items).to.have.length(1);
    });

    it("keeps the AWS CLI working against --endpoint-url http://127.0.0.1:DYNAMODB_PORT", async function () {
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          "aws",
          ["dynamodb", "list-tables", "--endpoint-url", stack.dynamoEndpoint, "--region", LOCAL_REGION, "--output", "json"],
          { env: { ...process.env, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", AWS_PAGER: "" }, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error ? ((error as NodeJS.ErrnoException).code === "ENOENT" ? -1 : (error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      if (result.code === -1) this.skip(); // the AWS CLI is not installed on this machine
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout).TableNames).to.include(stack.eventsTable);
    });
  });

  describe("finding 1: the same Host rule on the API port", () => {
    it("answers 403 to a Host that is not the local stack's (DNS rebinding), before any function runs", async () => {
      const before = logs.lines.length;
      const response = await request(stack.url, { path: "/health", headers: { host: `evil.example:${apiPort()}` } });
      expect(response.status).to.equal(403);
      expect(response.headers["apigw-requestid"], "like every gateway answer (docs/LOCAL.md)").to.be.a("string").and.not.equal("");
      expect(logs.lines.length).to.equal(before);
    });

    it("still serves a local Host with an Origin (a web app in development calls the API)", async () => {
      for (const name of ["127.0.0.1", "localhost"]) {
        const response = await request(stack.url, { path: "/health", headers: { host: `${name}:${apiPort()}`, origin: "http://localhost:5173" } });
        expect(response.status, name).to.equal(200);
      }
    });

    it("is one reusable piece: any listener guarded with refuseBrowsers refuses Origin and foreign Hosts, and passes local tool requests", async () => {
      const server = http.createServer((_req, res) => res.end("ok"));
      guardLocalListener(server, { refuseBrowsers: true });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        expect((await request(url)).body).to.equal("ok");
        expect((await request(url, { headers: { origin: "null" } })).status).to.equal(403);
        expect((await request(url, { headers: { host: "attacker.example" } })).status).to.equal(403);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe("finding 4: gateway hygiene", () => {
    it("answers 401 to a POST without Authorization before reading its body (10 MB announced, 1 KB sent)", async () => {
      const response = await request(stack.url, { method: "POST", path: "/events", headers: { "content-type": "application/json" }, announce: 10 * 1024 * 1024, body: "x".repeat(1024) });
      expect(response.status).to.equal(401);
    });

    it("answers 403 to a POST with an unknown key before reading its body", async () => {
      const response = await request(stack.url, {
        method: "POST",
        path: "/events",
        headers: { "content-type": "application/json", authorization: `Bearer eik_${"0".repeat(16)}_${"0".repeat(32)}` },
        announce: 10 * 1024 * 1024,
        body: "x".repeat(1024),
      });
      expect(response.status).to.equal(403);
    });

    it("routes //evil.example/events and //evil.example/health to 404, as API Gateway does, and stores nothing", async () => {
      const key = fs.readFileSync(stack.keyFile, "utf8").trim();
      const post = await request(stack.url, {
        method: "POST",
        path: "//evil.example/events",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ event_type: "x", payload: {} }),
      });
      expect(post.status).to.equal(404);
      expect((await request(stack.url, { path: "//evil.example/health" })).status).to.equal(404);
      const { Count } = await doc.send(new ScanCommand({ TableName: stack.eventsTable, Select: "COUNT" }));
      expect(Count).to.equal(0);
    });

    it(`keeps at most GATEWAY_LIMITS.authorizerCacheEntries cached decisions: the oldest is evicted and asked again`, async () => {
      const max = GATEWAY_LIMITS.authorizerCacheEntries;
      expect(max).to.be.a("number").and.to.be.within(100, 100_000);
      const asked: string[] = [];
      const authorizer: LocalFunction = {
        name: "authorizer",
        async invoke(event) {
          asked.push((event as { identitySource: string[] }).identitySource[0]!);
          return { isAuthorized: false };
        },
      } as LocalFunction;
      const idle: LocalFunction = { name: "idle", invoke: async () => ({ statusCode: 204 }) } as LocalFunction;
      const gateway = createGateway({
        functions: Object.fromEntries(Object.keys(HANDLERS).map((name) => [name, idle])) as Record<HandlerName, LocalFunction>,
        functionTimeoutsMs: Object.fromEntries(Object.keys(HANDLERS).map((name) => [name, 1000])) as Record<HandlerName, number>,
        authorizer: { fn: authorizer, timeoutMs: 1000, cacheTtlSeconds: 3600 },
      });
      await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
      try {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        const get = (n: number) =>
          new Promise<number>((resolve, reject) => {
            http
              .get(`${url}/events`, { agent, headers: { authorization: `Bearer key-${n}` } }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode!));
              })
              .on("error", reject);
          });
        for (let n = 0; n <= max; n += 50) await Promise.all(Array.from({ length: Math.min(50, max + 1 - n) }, (_, i) => get(n + i)));
        expect(asked).to.have.length(max + 1);
        await get(max); // the newest is cached: not asked again
        expect(asked).to.have.length(max + 1);
        await get(0); // the oldest was evicted when the cache was full
        expect(asked).to.have.length(max + 2);
        agent.destroy();
      } finally {
        await new Promise((resolve) => {
          gateway.close(resolve);
          gateway.closeAllConnections();
        });
      }
    });
  });

  describe("finding 5: DATA_DIR is private", () => {
    it("creates DATA_DIR with mode 0700 and leaves no file or folder in it readable by group or others", () => {
      expect(fs.statSync(dataDir).mode & 0o777).to.equal(0o700);
      const open: string[] = [];
      const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if ((fs.statSync(full).mode & 0o077) !== 0) open.push(`${full} ${(fs.statSync(full).mode & 0o777).toString(8)}`);
          if (entry.isDirectory()) walk(full);
        }
      };
      walk(dataDir);
      expect(open).to.deep.equal([]);
    });

    it("tightens an existing DATA_DIR made 0755 by an earlier version to 0700", async () => {
      const older = tempDataDir();
      fs.chmodSync(older, 0o755);
      fs.writeFileSync(path.join(older, "local-api-key"), "eik_old\n", { mode: 0o644 });
      fs.chmodSync(path.join(older, "local-api-key"), 0o644);
      const second = await startTestStack(older);
      try {
        expect(fs.statSync(older).mode & 0o777).to.equal(0o700);
        expect(fs.statSync(path.join(older, "local-api-key")).mode & 0o777).to.equal(0o600);
      } finally {
        await second.close();
        fs.rmSync(older, { recursive: true, force: true });
      }
    });
  });
});
