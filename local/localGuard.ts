/**
 * A guard for the local stack's listeners against web pages the developer has open. A page can
 * send requests to 127.0.0.1 (fetch, forms, CORS preflights), and through DNS rebinding it can
 * even read the answers under its own origin: its hostname then resolves to 127.0.0.1, but the
 * request still carries that hostname in `Host`. So every listener of the local stack refuses a
 * `Host` that is not 127.0.0.1, localhost or [::1] with the listener's own port, and listeners
 * that only tools talk to (dynalite, a local SQS) also refuse anything a browser sent (`Origin`
 * or `Sec-Fetch-Site`, which browsers add and the AWS SDK and CLI never send).
 *
 * Usage, for any local listener: `guardLocalListener(server, { refuseBrowsers: true })` once the
 * server has its request listener (before or after `listen`).
 */
import type * as http from "node:http";

export interface LocalGuardRule {
  /** Also refuse requests a browser made (an `Origin` or `Sec-Fetch-Site` header). */
  refuseBrowsers: boolean;
  /** Headers the refusal carries too, as the listener's own answers do (the gateway's `apigw-requestid`). */
  responseHeaders?: () => Record<string, string>;
}

/** Host names a local listener answers to (with its own port). */
export const LOCAL_HOST_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const;

/** Why the request must be refused, or undefined when it may pass. */
export function localRequestRefusal(req: http.IncomingMessage, rule: LocalGuardRule): string | undefined {
  if (rule.refuseBrowsers && (req.headers.origin !== undefined || req.headers["sec-fetch-site"] !== undefined)) {
    return "requests from web pages (an Origin or Sec-Fetch-Site header) are refused by the local stack";
  }
  const port = req.socket.localPort;
  const host = (req.headers.host ?? "").toLowerCase();
  if (!LOCAL_HOST_NAMES.some((name) => host === `${name}:${port}`)) {
    return `Host must be one of ${LOCAL_HOST_NAMES.map((name) => `${name}:${port}`).join(", ")}`;
  }
  return undefined;
}

/**
 * Puts the guard in front of every request listener the server has: a refused request gets a
 * `403` with `{"message": …}` and reaches no listener.
 */
export function guardLocalListener(server: http.Server, rule: LocalGuardRule): void {
  const listeners = server.listeners("request") as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
  if (listeners.length === 0) throw new Error("guardLocalListener: the server has no request listener yet; guard it after creating its handler");
  server.removeAllListeners("request");
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const refusal = localRequestRefusal(req, rule);
    if (refusal === undefined) {
      for (const listener of listeners) listener.call(server, req, res);
      return;
    }
    res.writeHead(403, { ...rule.responseHeaders?.(), "content-type": "application/json", connection: "close" }).end(JSON.stringify({ message: `Forbidden: ${refusal}` }));
  });
}
