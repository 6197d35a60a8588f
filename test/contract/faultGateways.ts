/**
 * The API Gateway emulator (local/gateway.ts) in front of functions that fail, for the answers the
 * healthy local stack never gives: its own 500 when a function fails, its 503 when one outlives the
 * integration timeout, and the functions' 503 problem when DynamoDB cannot be reached (the real
 * handler bundles, pointed at an endpoint nobody listens on). The authorizer allows every key, so
 * each request reaches the function under test.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eventStoreEnvironment } from "../../handlers/lib/config";
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
  const server: Server = createGateway({ functions, functionTimeoutsMs: timeouts, integrationTimeoutMs, authorizer: { fn: allowEveryKey, timeoutMs: 1000, cacheTtlSeconds: 0 } });
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

/** The real handler bundles with DynamoDB unreachable. process.env is restored on close. */
export async function storageDown(): Promise<FaultGateway> {
  const env = { ...process.env };
  const host = new LambdaHost();
  const settings = stackSettings("dev");
  const sdkEnvironment = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: await closedEndpoint(),
  };
  const storeEnvironment = eventStoreEnvironment({ eventsTable: "contract-unreachable", statusIndexShards: settings.statusIndexShards, maxEventBytes: settings.maxEventBytes });
  const functions = {} as Record<HandlerName, LocalFunction>;
  for (const name of HANDLER_NAMES) {
    functions[name] = await host.load(`unreachable-${name}`, HANDLERS[name].entry, { ...sdkEnvironment, ...storeEnvironment }, HANDLERS[name].memoryMb);
  }
  return serve(functions, 30_000, async () => {
    await host.close();
    for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
  });
}
