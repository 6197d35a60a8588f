/**
 * The local stack for end-to-end tests: a fresh DATA_DIR, free ports, process.env restored on
 * close (every start points the bundles' SDK at its own dynalite through process.env), and the
 * handlers' JSON log lines captured instead of printed.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../handlers/lib/store/store";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalStack, type LocalStack, type LocalStackOptions } from "../../local/stack";
import { tempDir } from "./tempDirs";

/** A fresh DATA_DIR, removed at the end of the run at the latest (test/support/tempDirs.ts). */
export function tempDataDir(): string {
  return tempDir("event-ingestion-local-test-");
}

/** Starts the stack on free ports; `close()` also restores process.env as it was before the start. */
export async function startTestStack(dataDir: string, options: Partial<Omit<LocalStackOptions, "dataDir">> = {}): Promise<LocalStack> {
  const env = { ...process.env };
  const restoreEnv = () => {
    for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
  };
  let stack: LocalStack;
  try {
    stack = await startLocalStack({ port: 0, dynamoPort: 0, ...options, dataDir });
  } catch (error) {
    restoreEnv();
    throw error;
  }
  return {
    ...stack,
    async close() {
      try {
        await stack.close();
      } finally {
        restoreEnv();
      }
    },
  };
}

/** A document client on the stack's dynalite, as the AWS CLI or the key CLI would reach it. */
export function localDocumentClient(stack: Pick<LocalStack, "dynamoEndpoint">): DynamoDBDocumentClient {
  return createDocumentClient({ endpoint: stack.dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export interface HandlerLogs {
  /** Parsed log lines the bundles wrote to stdout (they carry their own copy of handlers/lib/ops/log.ts). */
  readonly lines: Record<string, unknown>[];
  /** Lines with `message` (`authorize` from the authorizer, `request` from the HTTP handlers) for one request id. */
  of(message: string, requestId: string): Record<string, unknown>[];
  restore(): void;
}

/** Swallows and records the bundles' JSON log lines; everything else (mocha's reporter) passes through. */
export function captureHandlerLogs(): HandlerLogs {
  const lines: Record<string, unknown>[] = [];
  const original = process.stdout.write;
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
    if (text.startsWith('{"timestamp":')) {
      for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  return {
    lines,
    of: (message, requestId) => lines.filter((l) => l.message === message && l.request_id === requestId),
    restore: () => void (process.stdout.write = original),
  };
}

export interface ApiCall {
  status: number;
  headers: Headers;
  /** The gateway's request id (`apigw-requestid`). */
  requestId: string;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTP request to the stack; `key` becomes `Authorization: Bearer <key>`, an object body is sent as JSON. */
export async function call(
  stack: Pick<LocalStack, "url">,
  method: string,
  urlPath: string,
  init: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiCall> {
  const headers: Record<string, string> = {};
  let body: string | Buffer | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" || Buffer.isBuffer(init.body) ? init.body : JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`;
  const response = await fetch(stack.url + urlPath, { method, headers: { ...headers, ...init.headers }, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    requestId: response.headers.get("apigw-requestid") ?? "",
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}
