/**
 * The API Gateway emulator (local/gateway.ts) in front of functions that fail, for the answers the
 * healthy local stack never gives: its own 500 when a function fails, its 503 when one outlives the
 * integration timeout, and the functions' own 503 and 500 problems when DynamoDB cannot be reached
 * or rejects every call (the real handler bundles, pointed at such an endpoint). The authorizer allows every key, so
 * each request reaches the function under test.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { eventStoreEnvironment } from "../../handlers/lib/ops/config";
import { HANDLERS, SCOPES, type HandlerName } from "../../handlers/routes";
import { createGateway } from "../../local/gateway";
import { LambdaHost, type LocalFunction } from "../../local/lambdaHost";
import { stackSettings } from "../../local/config";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../local/stack";
import { closedEndpoint } from "../support/faults";

export interface FaultGateway {
  url: string;
  close(): Promise<void>;
}

const HANDLER_NAMES = Object.keys(HANDLERS) as HandlerName[];

const allowEveryKey: LocalFunction = {
  name: "authorizer",
  invoke: async () => ({ isAuthorized: true, context: { key_id: "contract", scopes: SCOPES.join(" ") } }),
};

async function serve(functions: Record<HandlerName, LocalFunction>, integrationTimeoutMs: number, cleanup: () => void | Promise<void>): Promise<FaultGateway> {
  const timeouts = Object.fromEntries(HANDLER_NAMES.map((n) => [n, HANDLERS[n].timeoutSeconds * 1000])) as Record<HandlerName, number>;
  const server: http.Server = createGateway({ functions, functionTimeoutsMs: timeouts, integrationTimeoutMs, authorizer: { fn: allowEveryKey, timeoutMs: 1000, cacheTtlSeconds: 0 } });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await cleanup();
    },
  };
}

/** Every function throws: API Gateway answers 500 `{"message":"Internal Server Error"}`. */
export function functionsFail(): Promise<FaultGateway> {
  const fail: LocalFunction = { name: "fails", invoke: async () => Promise.reject(new Error("function failed")) };
  return serve(Object.fromEntries(HANDLER_NAMES.map((n) => [n, fail])) as Record<HandlerName, LocalFunction>, 30_000, () => {});
}

/** Every function hangs past a 100 ms integration timeout: API Gateway answers 503. */
export function functionsHang(): Promise<FaultGateway> {
  const pending: (() => void)[] = [];
  const hang: LocalFunction = { name: "hangs", invoke: () => new Promise((resolve) => pending.push(() => resolve(undefined))) };
  return serve(Object.fromEntries(HANDLER_NAMES.map((n) => [n, hang])) as Record<HandlerName, LocalFunction>, 100, () => pending.forEach((release) => release()));
}

/**
 * A DynamoDB endpoint that refuses every request with ValidationException: not a fault to retry
 * but an error the handlers do not expect, so they answer 500 internal_error.
 */
async function rejectingEndpoint(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume().on("end", () => {
      res.writeHead(400, { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": "ValidationException" });
      res.end(JSON.stringify({ __type: "com.amazon.coral.validate#ValidationException", message: "rejected by the contract test" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The real handler bundles with DynamoDB unreachable (503) or rejecting every call (500). process.env is restored on close. */
export async function storageFails(how: "unreachable" | "rejects"): Promise<FaultGateway> {
  const env = { ...process.env };
  const host = new LambdaHost();
  const settings = stackSettings("dev");
  const rejecting = how === "rejects" ? await rejectingEndpoint() : undefined;
  const sdkEnvironment = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: rejecting?.endpoint ?? (await closedEndpoint()),
  };
  const storeEnvironment = eventStoreEnvironment({ eventsTable: "contract-unreachable", statusIndexShards: settings.statusIndexShards, maxEventBytes: settings.maxEventBytes });
  const functions = {} as Record<HandlerName, LocalFunction>;
  for (const name of HANDLER_NAMES) {
    functions[name] = await host.load(`${how}-${name}`, HANDLERS[name].entry, { ...sdkEnvironment, ...storeEnvironment }, HANDLERS[name].memoryMb);
  }
  return serve(functions, 30_000, async () => {
    host.close();
    await rejecting?.close();
    for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
  });
}
