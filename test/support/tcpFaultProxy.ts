/**
 * A fault-injecting TCP proxy on 127.0.0.1 in front of the local stack's API, for the client's
 * tests. Raw sockets, so the client meets real resets and real lost answers, not mocked fetches.
 * Each HTTP request (a keep-alive connection carries several, one after another) gets an action:
 * - `forward`: pass it through and the answer back;
 * - `drop-before`: reset the connection before the request reaches the server (nothing stored);
 * - `drop-after`: pass the request through, then reset the connection when the answer starts
 *   (the server stored the event; the client never hears so);
 * - `delay`: hold the request for `delayMs` before passing it on;
 * - `503`: answer `503` + `Retry-After` itself (nothing reaches the server).
 * A request starts with the first bytes the client sends after the previous answer began: HTTP/1.1
 * without pipelining, as fetch (undici) speaks it. The `Host` header of each request is rewritten
 * to the target's, as a proxy does (the local stack refuses a foreign Host).
 */
import * as net from "node:net";
import type { AddressInfo } from "node:net";

export type FaultAction = "forward" | "drop-before" | "drop-after" | "delay" | "503";

export interface TcpFaultProxy {
  url: string;
  /** Requests per action so far. */
  readonly counts: Record<FaultAction, number>;
  close(): Promise<void>;
}

const RETRY_AFTER_SECONDS = 1;
const PROBLEM_503 = JSON.stringify({ type: "about:blank", title: "Injected by the test proxy", status: 503, code: "proxy_unavailable" });
const ANSWER_503 =
  "HTTP/1.1 503 Service Unavailable\r\n" +
  "content-type: application/problem+json\r\n" +
  `retry-after: ${RETRY_AFTER_SECONDS}\r\n` +
  `content-length: ${Buffer.byteLength(PROBLEM_503)}\r\n` +
  "connection: close\r\n\r\n" +
  PROBLEM_503;

export async function startTcpFaultProxy(target: string, decide: (requestIndex: number) => FaultAction, options: { delayMs?: number } = {}): Promise<TcpFaultProxy> {
  const targetUrl = new URL(target);
  const targetPort = Number(targetUrl.port);
  const delayMs = options.delayMs ?? 300;
  const counts: Record<FaultAction, number> = { forward: 0, "drop-before": 0, "drop-after": 0, delay: 0, "503": 0 };
  const sockets = new Set<net.Socket>();
  let requests = 0;

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetUrl.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());

    let inRequest = false;
    let action: FaultAction = "forward";
    client.on("data", (chunk: Buffer) => {
      if (!inRequest) {
        inRequest = true;
        action = decide(requests++);
        counts[action]++;
        chunk = withHost(chunk, targetUrl.host);
        if (action === "drop-before") return cut();
        if (action === "503") {
          client.end(ANSWER_503);
          upstream.destroy();
          return;
        }
        if (action === "delay") {
          client.pause();
          setTimeout(() => {
            upstream.write(chunk);
            client.resume();
          }, delayMs);
          return;
        }
      }
      if (action !== "503") upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (action === "drop-after") return cut();
      inRequest = false;
      client.write(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request head's Host header, pointed at the target. */
function withHost(chunk: Buffer, host: string): Buffer {
  const text = chunk.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const rewritten = head.replace(/\r\nhost:[^\r\n]*/i, `\r\nhost: ${host}`);
  return rewritten === head ? chunk : Buffer.from(rewritten + text.slice(head.length), "latin1");
}
