/**
 * The contract test: for every (route, status) the OpenAPI document lists, a real request over
 * HTTP (cases.ts), and the answer's status, headers and body validated against the document by
 * Stoplight Prism's response validator (@stoplight/prism-http, the validator of the Prism proxy;
 * OpenAPI 3.1 with JSON Schema 2020-12). It fails when a documented response has no case.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import { getHttpOperationsFromSpec } from "@stoplight/prism-http";
import { validateOutput } from "@stoplight/prism-http/dist/validator";
import { buildOpenApiDocument } from "../../handlers/lib/api/openapi";
import { catalog } from "../../events/catalog";
import { ROUTES, routeKey, SCOPES, type RouteSpec, type Scope } from "../../handlers/routes";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import type { LocalStack } from "../../local/stack";
import { captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { WebhookSourceStore } from "../../local/webhookStore";
import { SubscriptionStore } from "../../local/subscriptionStore";
import { newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import { AWS_ONLY, allCases, CONTRACT_WEBHOOK, CONTRACT_WEBHOOK_GONE, HANDLER_CASES, scopesWithout, type CaseContext, type CaseRequest, type ContractCase, type Target } from "./cases";
import { functionsFail, functionsHang, storageFails, type FaultGateway } from "./faultGateways";

type HttpOperation = Awaited<ReturnType<typeof getHttpOperationsFromSpec>>[number];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** One HTTP/1.1 request with node:http, which (unlike fetch) sends a body with GET when asked. */
function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]));
        const isJson = /json/.test(headers["content-type"] ?? "");
        resolve({ status: response.statusCode ?? 0, headers, body: isJson && text !== "" ? JSON.parse(text) : text });
      });
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

const documented = (doc: ReturnType<typeof buildOpenApiDocument>) =>
  Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, operation]) => Object.keys(operation.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`)),
  );

const mediaTypeOf = (answer: Answer) => (answer.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();

/**
 * Prism matches media types by subtype alone (application/problem+json counts as application/json)
 * and takes the first match. Where one status has both (the handler's problem and API Gateway's own
 * answer), keep only the content the answer names exactly, so its body meets the right schema.
 */
function narrowedTo(operation: HttpOperation, answer: Answer): HttpOperation {
  const narrowed = Object.create(Object.getPrototypeOf(operation), Object.getOwnPropertyDescriptors(operation)) as HttpOperation;
  narrowed.responses = operation.responses.map((response) => {
    const exact = (response.contents ?? []).filter((c) => c.mediaType === mediaTypeOf(answer));
    return exact.length > 0 ? { ...response, contents: exact } : response;
  }) as HttpOperation["responses"];
  return narrowed;
}

/** The same gap the other way: an answer whose exact media type the status does not list. */
function unlistedMediaType(operation: HttpOperation, answer: Answer): string[] {
  const response = operation.responses.find((r) => r.code === String(answer.status));
  const listed = (response?.contents ?? []).map((c) => c.mediaType);
  return listed.length > 0 && !listed.includes(mediaTypeOf(answer)) ? [`media type "${mediaTypeOf(answer)}" is not one of ${listed.join(", ")}`] : [];
}

describe("contract: every documented response, answered over HTTP and validated against the OpenAPI document", function () {
  this.timeout(120_000);
  const doc = buildOpenApiDocument(ROUTES, catalog);
  const cases = allCases();
  let operations: HttpOperation[];
  let logs: HandlerLogs;

  before(async () => {
    operations = await getHttpOperationsFromSpec(JSON.parse(JSON.stringify(doc)));
    logs = captureHandlerLogs();
  });
  after(() => logs?.restore());

  it("has a case for every documented (route, status), or a reason it can only happen on AWS", () => {
    const covered = new Set(cases.map((c) => `${c.route} ${c.status}`));
    const missing = documented(doc).filter((entry) => !covered.has(entry) && !(entry.split(" ").pop()! in AWS_ONLY));
    expect(missing, "add a case to test/contract/cases.ts for each").to.deep.equal([]);
    expect(Object.keys(HANDLER_CASES).filter((key) => !ROUTES.some((r) => routeKey(r) === key)), "cases for routes that no longer exist").to.deep.equal([]);
  });

  it("documents every status it has a case for (a case never passes for an undocumented answer)", () => {
    const listed = new Set(documented(doc));
    expect(cases.map((c) => `${c.route} ${c.status}`).filter((entry) => !listed.has(entry))).to.deep.equal([]);
  });

  /** Prism's findings on one answer to `route`, of any severity. */
  function diagnostics(route: RouteSpec, answer: Answer): string[] {
    const operation = operations.find((o) => o.method === route.method.toLowerCase() && o.path === route.path);
    if (!operation) return [`no operation for ${routeKey(route)}`];
    const result = validateOutput({ resource: narrowedTo(operation, answer), element: { statusCode: answer.status, headers: answer.headers, body: answer.body } });
    return [...("left" in result ? result.left.map((d) => `${(d.path ?? []).join(".")}: ${d.message}`) : []), ...unlistedMediaType(operation, answer)];
  }

  function expectConforms(route: RouteSpec, expectedStatus: number, answer: Answer) {
    expect(answer.status, JSON.stringify(answer.body).slice(0, 500)).to.equal(expectedStatus);
    expect(diagnostics(route, answer), JSON.stringify(answer.body).slice(0, 500)).to.deep.equal([]);
  }

  it("has a validator with teeth: a missing header, a wrong body, media type or status each fail", () => {
    const route = ROUTES.find((r) => routeKey(r) === "POST /events")!;
    const good: Answer = {
      status: 201,
      headers: { "content-type": "application/json", "apigw-requestid": "IZxYhjG5oAMEVzw=", location: "/events/evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN" },
      body: { event_id: "evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN", status: "pending", created_at: "2026-11-29T10:00:00.000Z", delivered_at: null, request_id: "IZxYhjG5oAMEVzw=" },
    };
    expect(diagnostics(route, good)).to.deep.equal([]);
    const { location: _location, ...withoutLocation } = good.headers;
    const { "apigw-requestid": _id, ...withoutRequestId } = good.headers;
    const broken: [string, Answer][] = [
      ["no Location", { ...good, headers: withoutLocation }],
      ["no apigw-requestid", { ...good, headers: withoutRequestId }],
      ["a body without event_id", { ...good, body: { ...(good.body as object), event_id: undefined } }],
      ["text/plain", { ...good, headers: { ...good.headers, "content-type": "text/plain" } }],
      ["an undocumented status", { ...good, status: 418 }],
      ["a gateway body as problem+json", { status: 401, headers: { "content-type": "application/problem+json", "apigw-requestid": "x" }, body: { message: "Unauthorized" } }],
    ];
    for (const [what, answer] of broken) expect(diagnostics(route, JSON.parse(JSON.stringify(answer)) as Answer), what).to.not.deep.equal([]);
  });

  /** Runs the cases of one target against a server `start` brings up. */
  interface Server {
    url: string;
    keys(scopes: readonly Scope[]): Promise<string>;
    eventId: string;
    /** A stored event no subscription matches (replay answers 409). */
    unmatchedEventId: string;
    close(): Promise<void>;
  }

  function casesAgainst(target: Target, title: string, start: () => Promise<Server>, more?: (server: () => Server) => void) {
    describe(title, () => {
      let server: Server;
      before(async () => {
        server = await start();
      });
      after(async () => server?.close());
      more?.(() => server);

      async function request(route: RouteSpec, r: CaseRequest): Promise<Answer> {
        const headers: Record<string, string> = { ...r.headers };
        const key = r.key ?? "none";
        if (key === "all") headers.authorization = `Bearer ${await server.keys(SCOPES)}`;
        else if (key === "without-scope") headers.authorization = `Bearer ${await server.keys(scopesWithout(route.scope!))}`;
        else if (typeof key === "object") headers.authorization = `Bearer ${key.literal}`;
        const path = r.path ?? route.path.replace("{event_id}", server.eventId);
        return send(server.url, route.method, path, headers, r.body);
      }

      for (const c of cases.filter((c) => c.target === target)) {
        const route = ROUTES.find((r) => routeKey(r) === c.route)!;
        it(`${c.route} → ${c.status}: ${c.name}`, async () => {
          const ctx: CaseContext = { eventId: server.eventId, unmatchedEventId: server.unmatchedEventId, send: async (r, req) => (await request(r, req)).status };
          const answer = await request(route, await c.request(ctx));
          expectConforms(route, c.status, answer);
          if (c.mediaType) expect(mediaTypeOf(answer), "which of the status's two bodies").to.equal(c.mediaType);
        });
      }
    });
  }

  /** The local stack as a contract server, in `ingestMode` direct (the default) or queued. */
  const localStackServer = (ingestMode: "direct" | "queued") => async (): Promise<Server> => {
    const dataDir = tempDataDir();
    const webhooks = new WebhookSourceStore(dataDir);
    for (const source of [CONTRACT_WEBHOOK, CONTRACT_WEBHOOK_GONE]) webhooks.put(source.name, source.scheme, source.secret);
    // One subscription, for the delivery routes: it wants the seeded event only; nothing listens there.
    new SubscriptionStore(dataDir).put("contract", "http://127.0.0.1:9/nobody", ["contract.seeded"], newSubscriptionSecret());
    const stack: LocalStack = await startTestStack(dataDir, ingestMode === "queued" ? { sqsPort: 0, settings: { ingestMode } } : {});
    webhooks.remove(CONTRACT_WEBHOOK_GONE.name); // served by the function, unreadable from SSM
    const client = localDocumentClient(stack);
    const store = new ApiKeyStore(client, stack.apiKeysTable);
    const keys = new Map<string, Promise<string>>();
    const keyFor = (scopes: readonly Scope[]) => {
      const name = [...scopes].sort().join("+") || "none";
      if (!keys.has(name)) keys.set(name, store.create(`contract-${name}`, scopes).then((k) => k.apiKey));
      return keys.get(name)!;
    };
    const stored = await send(stack.url, "POST", "/events", { "content-type": "application/json", authorization: `Bearer ${await keyFor(SCOPES)}` }, JSON.stringify({ event_type: "contract.seeded", payload: {} }));
    expect(stored.status).to.equal(ingestMode === "queued" ? 202 : 201);
    const unmatched = await send(stack.url, "POST", "/events", { "content-type": "application/json", authorization: `Bearer ${await keyFor(SCOPES)}` }, JSON.stringify({ event_type: "contract.unmatched", payload: {} }));
    return {
      url: stack.url,
      keys: keyFor,
      eventId: (stored.body as { event_id: string }).event_id,
      unmatchedEventId: (unmatched.body as { event_id: string }).event_id,
      async close() {
        client.destroy();
        await stack.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };

  casesAgainst("stack", "through the local stack", localStackServer("direct"), (server) => {
    it("answers a method and path that match no route with API Gateway's 404 {\"message\":\"Not Found\"}, as info.description says", async () => {
      for (const [method, path] of [["GET", "/nope"], ["DELETE", "/events"]] as const) {
        const answer = await send(server().url, method, path, {});
        expect([answer.status, answer.headers["content-type"], answer.body]).to.deep.equal([404, "application/json", { message: "Not Found" }]);
        expect(answer.headers["apigw-requestid"]).to.be.a("string");
      }
      expect((doc.info as { description: string }).description).to.include('404 `{"message":"Not Found"}`');
    });
  });

  casesAgainst("queued-stack", "through the local stack in queued mode (ingestMode queued)", localStackServer("queued"));

  const faulty = (start: () => Promise<FaultGateway>) => async () => {
    const gateway = await start();
    return { url: gateway.url, keys: async () => "eik_any-key-the-authorizer-allows", eventId: "evt_00000000000000000000000000", unmatchedEventId: "evt_00000000000000000000000000", close: () => gateway.close() };
  };
  casesAgainst("storage-down", "with DynamoDB unreachable (the handler bundles behind the emulator)", faulty(() => storageFails("unreachable")));
  casesAgainst("storage-rejects", "with DynamoDB rejecting every call (the handler bundles behind the emulator)", faulty(() => storageFails("rejects")));
  casesAgainst("function-fails", "with functions that fail (the emulator's own 500)", faulty(functionsFail));
  casesAgainst("function-hangs", "with functions that outlive the integration timeout (the emulator's own 503)", faulty(functionsHang));

});
