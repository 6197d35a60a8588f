/**
 * The emulator answers an authorizer failure as API Gateway documents for HTTP API Lambda
 * authorizers: the function error (or timeout) becomes `500 {"message":"Internal Server Error"}`,
 * and only a returned decision (allow or deny) is cached for the identity source, so the next
 * request with the same header calls the authorizer again (docs/adr/0023).
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import type * as http from "node:http";
import { createGateway } from "../../local/gateway";
import type { LocalFunction } from "../../local/lambdaHost";
import { HANDLERS, type HandlerName } from "../../handlers/routes";

describe("local gateway: authorizer failures", () => {
  let server: http.Server;
  let url: string;
  /** What the authorizer does on each call, in order; its calls are counted. */
  let script: ("fail" | "allow" | "deny")[];
  let authorizerCalls: number;

  before(async () => {
    const authorizer: LocalFunction = {
      name: "authorizer",
      async invoke() {
        authorizerCalls++;
        const step = script.shift() ?? "allow";
        if (step === "fail") throw new Error("api key lookup failed (ProvisionedThroughputExceededException); the request may be retried");
        return step === "allow" ? { isAuthorized: true, context: { key_id: "k1", scopes: "ingest read" } } : { isAuthorized: false, context: {} };
      },
    };
    const echo: LocalFunction = { name: "handler", invoke: async () => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' }) };
    const names = Object.keys(HANDLERS) as HandlerName[];
    server = createGateway({
      functions: Object.fromEntries(names.map((n) => [n, echo])) as Record<HandlerName, LocalFunction>,
      functionTimeoutsMs: Object.fromEntries(names.map((n) => [n, 1000])) as Record<HandlerName, number>,
      authorizer: { fn: authorizer, timeoutMs: 1000, cacheTtlSeconds: 300 },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    script = [];
    authorizerCalls = 0;
  });

  const inbox = (key: string) => fetch(`${url}/inbox`, { headers: { authorization: `Bearer ${key}` } });

  it("answers 500 Internal Server Error when the authorizer fails, and caches nothing: the retry is authorized", async () => {
    script = ["fail", "allow"];
    const failed = await inbox("key-a");
    expect(failed.status).to.equal(500);
    expect(await failed.json()).to.deep.equal({ message: "Internal Server Error" });
    const retried = await inbox("key-a");
    expect(retried.status).to.equal(200);
    expect(authorizerCalls).to.equal(2);
  });

  it("caches a deny, by contrast: the same header is answered 403 from the cache without calling the authorizer", async () => {
    script = ["deny", "allow"];
    expect((await inbox("key-b")).status).to.equal(403);
    expect((await inbox("key-b")).status).to.equal(403);
    expect(authorizerCalls).to.equal(1);
  });
});
