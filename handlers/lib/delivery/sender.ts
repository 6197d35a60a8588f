/**
 * The one place a delivery leaves the stack: an HTTP POST that cannot be turned against the
 * stack's own network (SSRF). Every address a host name resolves to is checked in the socket's
 * own `lookup`, at connect time, so a DNS answer that changes between a check and the connection
 * (rebinding) cannot get round it; IP-literal hosts, which Node connects to without a lookup, are
 * checked before the request, and the connected peer's address once more. No redirect is followed
 * (Node's client never does; a 3xx is a failure), at most 1 KB of the answer is kept, and the whole
 * attempt has one deadline. Success is a 2xx within it; everything else is a failure.
 */
import * as dns from "node:dns";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { blockedAddressReason, isIpLiteralHost, isLoopback } from "./addresses";
import { parseRetryAfter } from "./schedule";

/** What is kept of an answer's body in the delivery log. */
export const RESPONSE_BODY_KEPT_BYTES = 1024;
/** What is read of it at most before the connection is dropped. */
const RESPONSE_BODY_READ_BYTES = 16 * 1024;

export interface SendOptions {
  timeoutMs: number;
  /** The local stack only: http:// and loopback receivers (never private or link-local ranges). */
  allowLoopback?: boolean;
}

export interface AttemptResult {
  ok: boolean;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** Why there is no usable answer: `timeout`, `refused_address: …`, `ECONNREFUSED`, … */
  error?: string;
  latencyMs: number;
  /** The first 1 KB of the answer's body (UTF-8, possibly cut mid-character). */
  body: string;
  /** Seconds from a Retry-After header on 429 or 503. */
  retryAfterSeconds?: number;
}

export class RefusedAddressError extends Error {
  readonly code = "EREFUSEDADDRESS";
  constructor(host: string, address: string, why: string) {
    super(`refused_address: ${host} resolves to ${address} (${why})`);
    this.name = "RefusedAddressError";
  }
}

function refusal(address: string, allowLoopback: boolean): string | undefined {
  if (allowLoopback && isLoopback(address)) return undefined;
  return blockedAddressReason(address);
}

/**
 * A `lookup` for net.connect that resolves every address and refuses the name if any is blocked.
 * `resolve` is the system resolver; tests give one that answers like a rebinding DNS server.
 */
export function guardedLookup(allowLoopback: boolean, resolve: typeof dns.lookup = dns.lookup): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const list = addresses as dns.LookupAddress[];
      for (const { address } of list) {
        const why = refusal(address, allowLoopback);
        if (why) return callback(new RefusedAddressError(hostname, address, why));
      }
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }));
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}

/** Keep-alive agents per mode: reused connections skip the handshake (their peer was checked when they opened). */
const agents = new Map<string, http.Agent>();
function agentFor(protocol: string, allowLoopback: boolean): http.Agent {
  const key = `${protocol}${allowLoopback}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, maxSockets: 50, lookup: guardedLookup(allowLoopback) } as http.AgentOptions;
    agent = protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
    agents.set(key, agent);
  }
  return agent;
}

/** POSTs `body` with `headers` to `url`; never throws. */
export function sendDelivery(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const allowLoopback = options.allowLoopback === true;
  const done = (result: Omit<AttemptResult, "latencyMs">): AttemptResult => ({ ...result, latencyMs: Math.round(performance.now() - started) });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(done({ ok: false, error: "invalid_url", body: "" }));
  }
  const allowed = allowLoopback ? ["https:", "http:"] : ["https:"];
  if (!allowed.includes(target.protocol)) return Promise.resolve(done({ ok: false, error: `refused_scheme: ${target.protocol}`, body: "" }));
  if (isIpLiteralHost(target.hostname)) {
    const why = refusal(target.hostname.replace(/^\[|\]$/g, ""), allowLoopback);
    if (why) return Promise.resolve(done({ ok: false, error: `refused_address: ${target.hostname} (${why})`, body: "" }));
  }

  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(result));
    };
    const request = (target.protocol === "https:" ? https : http).request(target, {
      method: "POST",
      agent: agentFor(target.protocol, allowLoopback),
      headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "event-ingestion-delivery/1" },
    });
    const timer = setTimeout(() => {
      finish({ ok: false, error: "timeout", body: "" });
      request.destroy(new Error("timeout"));
    }, options.timeoutMs);
    request.on("socket", (socket) => {
      // Belt and braces: the peer actually connected to, whatever path led there.
      const check = () => {
        const why = socket.remoteAddress ? refusal(socket.remoteAddress, allowLoopback) : undefined;
        if (why) {
          finish({ ok: false, error: `refused_address: ${socket.remoteAddress} (${why})`, body: "" });
          request.destroy();
        }
      };
      if (socket.remoteAddress) check();
      else socket.once("connect", check);
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      finish({ ok: false, error: error instanceof RefusedAddressError ? error.message : (error.code ?? error.message).slice(0, 200), body: "" });
    });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let read = 0;
      const status = response.statusCode ?? 0;
      const complete = () => {
        const kept = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_KEPT_BYTES).toString("utf8");
        const retryAfter = status === 429 || status === 503 ? parseRetryAfter(response.headers["retry-after"]) : undefined;
        finish({ ok: status >= 200 && status < 300, status, body: kept, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) });
      };
      response.on("data", (chunk: Buffer) => {
        if (read < RESPONSE_BODY_KEPT_BYTES) chunks.push(chunk);
        read += chunk.length;
        if (read > RESPONSE_BODY_READ_BYTES) {
          complete();
          response.destroy(); // a huge answer is not read to its end
        }
      });
      response.on("end", complete);
      response.on("error", complete);
      response.on("aborted", complete);
    });
    request.end(body);
  });
}
