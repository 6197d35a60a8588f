/**
 * Runs a handler bundle the way Lambda does: the exact esbuild bytes that deploy, imported once
 * (a warm execution environment) after its environment variables are set, then invoked per
 * request with an event and a context.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { BUNDLE_FILE, bundleHandler } from "../components/bundle";

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  memoryLimitInMB: string;
  getRemainingTimeInMillis(): number;
}

export interface LocalFunction {
  name: string;
  invoke(event: unknown, timeoutMs: number): Promise<unknown>;
}

export class FunctionTimeoutError extends Error {
  constructor(name: string, timeoutMs: number) {
    super(`${name} did not answer within ${timeoutMs} ms`);
    this.name = "FunctionTimeoutError";
  }
}

export class LambdaHost {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "event-ingestion-bundles-"));

  /**
   * Imports `entry`'s bundle with `environment` applied to process.env first. All functions share
   * this process, so each one's variables must not collide (they don't: every name is distinct).
   */
  async load(name: string, entry: string, environment: Record<string, string>, memoryMb = 128): Promise<LocalFunction> {
    return this.loadCode(name, BUNDLE_FILE, bundleHandler(entry), environment, memoryMb);
  }

  /**
   * Like `load`, for code that is not a handler entry: an inline callback as Pulumi serialized it
   * (a CommonJS `index.js`), the bytes a pipeline stage or consumer deploys with.
   */
  async loadCode(name: string, fileName: string, code: string, environment: Record<string, string>, memoryMb = 128): Promise<LocalFunction> {
    Object.assign(process.env, environment);
    const file = path.join(this.dir, name, fileName);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, code);
    const module = (await import(pathToFileURL(file).href)) as { handler?: LambdaHandler; default?: { handler?: LambdaHandler } };
    const handler = module.handler ?? module.default?.handler;
    if (typeof handler !== "function") throw new Error(`${name} does not export a handler function`);
    return {
      name,
      async invoke(event, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        const context: LambdaContext = {
          awsRequestId: randomUUID(),
          functionName: name,
          memoryLimitInMB: String(memoryMb),
          getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new FunctionTimeoutError(name, timeoutMs)), timeoutMs);
        });
        try {
          return await Promise.race([handler(event, context), timeout]);
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
