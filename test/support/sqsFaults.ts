/**
 * SQS answers the local SQS never gives, for the queued writer's fault paths, as real HTTP the SDK
 * parses, retries and throws: an SQS that fails every call with a 5xx, and a proxy in front of the
 * local SQS that edits its answers (an entry left out of a SendMessageBatch answer). Each serves
 * on an ephemeral port; close() ends it.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface SqsFault {
  endpoint: string;
  /** HTTP requests received, by X-Amz-Target action (SendMessage, SendMessageBatch, …). */
  readonly calls: string[];
  close(): Promise<void>;
}

async function serve(handle: (action: string, body: string, req: http.IncomingMessage) => Promise<{ status: number; body: string; headers?: Record<string, string> }>): Promise<SqsFault> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const action = String(req.headers["x-amz-target"] ?? "").replace(/^AmazonSQS\./, "");
      calls.push(action);
      handle(action, Buffer.concat(chunks).toString("utf8"), req)
        .then(({ status, body, headers }) => {
          res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": `fault-${calls.length}`, ...headers });
          res.end(body);
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every call answers 500 InternalError, as SQS does when it fails on its side (the message may or may not be stored). */
export function failingSqs(): Promise<SqsFault> {
  return serve(async () => ({
    status: 500,
    headers: { "x-amzn-query-error": "InternalError;Receiver" },
    body: JSON.stringify({ __type: "com.amazonaws.sqs#InternalError", message: "We encountered an internal error. Please try again." }),
  }));
}

/**
 * Forwards every call to `target` (the local SQS) and lets `edit` change a successful answer's
 * JSON before the client sees it.
 */
export function editingSqsProxy(target: string, edit: (action: string, answer: Record<string, unknown>) => Record<string, unknown>): Promise<SqsFault> {
  return serve(async (action, body, req) => {
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "x-amz-target", "authorization", "x-amz-date", "x-amz-content-sha256"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const response = await fetch(target, { method: "POST", headers, body });
    const text = await response.text();
    if (!response.ok) return { status: response.status, body: text };
    return { status: 200, body: JSON.stringify(edit(action, JSON.parse(text) as Record<string, unknown>)) };
  });
}
