/**
 * A fault-injecting HTTP proxy in front of dynalite. Each DynamoDB request (one SDK attempt) is
 * handed to a `decide` function that picks what the network does with it: forward it, answer it
 * with a throttling error, never answer, or forward it and then lose the response (the write is
 * applied, the client never hears so). Real sockets, so the SDK's own timeouts and retries run
 * exactly as they do in Lambda. `decide` may return a promise: the request waits on the wire until
 * it settles, which lets a test put another client's write between two attempts of one call.
 */
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * - `forward`: pass the request to dynalite and its response back;
 * - `throttle`: answer 400 ProvisionedThroughputExceededException (nothing reaches dynalite);
 * - `server-error`: answer 500 InternalServerError (nothing reaches dynalite);
 * - `hang`: never answer, never forward;
 * - `lose-response`: forward (dynalite applies it) but never answer the client;
 * - `unprocess-half` (BatchWriteItem): forward only the first half of each table's requests and
 *   answer the rest as `UnprocessedItems`, as DynamoDB does when part of a batch is throttled;
 * - `unprocess-all` (BatchWriteItem): forward nothing, answer every request as unprocessed.
 */
export type ProxyAction = "forward" | "throttle" | "server-error" | "hang" | "lose-response" | "unprocess-half" | "unprocess-all";

type RequestItems = Record<string, unknown[]>;

/** Splits a BatchWriteItem body: what to forward, and what to answer as unprocessed. */
function splitBatch(body: Buffer, action: "unprocess-half" | "unprocess-all"): { forward: RequestItems; unprocessed: RequestItems } {
  const { RequestItems: items } = JSON.parse(body.toString("utf8")) as { RequestItems: RequestItems };
  const forward: RequestItems = {};
  const unprocessed: RequestItems = {};
  for (const [table, requests] of Object.entries(items)) {
    const kept = action === "unprocess-all" ? 0 : Math.floor(requests.length / 2);
    if (kept > 0) forward[table] = requests.slice(0, kept);
    if (kept < requests.length) unprocessed[table] = requests.slice(kept);
  }
  return { forward, unprocessed };
}

export interface ProxiedRequest {
  /** The DynamoDB operation, from `X-Amz-Target` (`PutItem`, `GetItem`, …). */
  operation: string;
  /** The JSON request body (low-level attribute values). */
  body: string;
  /** 0-based index of this request among all the proxy has seen. */
  index: number;
}

export interface DynamoProxy {
  endpoint: string;
  /** Every request and what was done with it, in arrival order. */
  readonly log: readonly (ProxiedRequest & { action: ProxyAction })[];
  /** Of the requests with `operation`, how many got `action`. */
  count(operation: string, action?: ProxyAction): number;
  close(): Promise<void>;
}

const ERROR_BODIES: Record<"throttle" | "server-error", { status: number; type: string; message: string }> = {
  throttle: { status: 400, type: "ProvisionedThroughputExceededException", message: "injected throttling" },
  "server-error": { status: 500, type: "InternalServerError", message: "injected server error" },
};

export async function startDynamoProxy(target: string, decide: (request: ProxiedRequest) => ProxyAction | Promise<ProxyAction>): Promise<DynamoProxy> {
  const targetUrl = new URL(target);
  const log: (ProxiedRequest & { action: ProxyAction })[] = [];
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
      const request: ProxiedRequest = { operation, body: body.toString("utf8"), index: log.length };
      const action = await decide(request);
      log.push({ ...request, action });
      switch (action) {
        case "throttle":
        case "server-error": {
          const { status, type, message } = ERROR_BODIES[action];
          res.writeHead(status, {
            "content-type": "application/x-amz-json-1.0",
            "x-amzn-errortype": type,
            "x-amzn-requestid": `proxy-${request.index}`,
          });
          res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }));
          return;
        }
        case "hang":
          return; // the socket stays open until the client gives up or the proxy closes
        case "unprocess-half":
        case "unprocess-all": {
          const { forward, unprocessed } = splitBatch(body, action);
          const answer = (upstreamBody: Record<string, unknown>) => {
            res.writeHead(200, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": `proxy-${request.index}` });
            res.end(JSON.stringify({ ...upstreamBody, UnprocessedItems: unprocessed }));
          };
          if (Object.keys(forward).length === 0) return answer({});
          const forwarded = Buffer.from(JSON.stringify({ RequestItems: forward }));
          const headers = { ...req.headers, "content-length": String(forwarded.length) };
          const upstream = http.request({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers, agent }, (response) => {
            const parts: Buffer[] = [];
            response.on("data", (chunk: Buffer) => parts.push(chunk));
            response.on("end", () => {
              if (response.statusCode !== 200) return res.writeHead(response.statusCode ?? 502, response.headers).end(Buffer.concat(parts));
              answer(JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>);
            });
          });
          upstream.on("error", () => res.destroy());
          upstream.end(forwarded);
          return;
        }
        case "forward":
        case "lose-response": {
          const upstream = http.request(
            // Host names the target, as a proxy does: the local stack's dynalite refuses a foreign Host.
            { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host }, agent },
            (response) => {
              const parts: Buffer[] = [];
              response.on("data", (chunk: Buffer) => parts.push(chunk));
              response.on("end", () => {
                if (action === "lose-response") return; // applied by dynalite; the answer is lost
                res.writeHead(response.statusCode ?? 502, response.headers).end(Buffer.concat(parts));
              });
            },
          );
          upstream.on("error", () => res.destroy());
          upstream.end(body);
        }
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    count: (operation, action) => log.filter((r) => r.operation === operation && (action === undefined || r.action === action)).length,
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
