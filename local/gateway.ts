/**
 * An API Gateway HTTP API emulator: routes from handlers/routes.ts, payload format 2.0 events,
 * the Lambda authorizer with API Gateway's identity-source cache, and API Gateway's own answers
 * (401/403/404/413/431/500/503 with `{"message": …}` bodies, the `apigw-requestid` header).
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { ROUTES, routeKey, type RouteSpec } from "../handlers/routes";
import type { LocalFunction } from "./lambdaHost";

/** API Gateway HTTP API quotas. */
export const GATEWAY_LIMITS = {
  maxBodyBytes: 10 * 1024 * 1024,
  integrationTimeoutMs: 30_000,
  /** "Total combined size of request line and header values"; Node's own parser stops at 16 KB. */
  maxRequestLineAndHeaderBytes: 10_240,
  /** Not an API Gateway quota: bounds the emulator's memory against a flood of distinct keys. */
  authorizerCacheEntries: 1000,
};

export interface GatewayOptions {
  functions: Record<RouteSpec["handler"], LocalFunction>;
  functionTimeoutsMs: Record<RouteSpec["handler"], number>;
  authorizer: { fn: LocalFunction; timeoutMs: number; cacheTtlSeconds: number };
  routes?: readonly RouteSpec[];
  integrationTimeoutMs?: number;
  maxBodyBytes?: number;
  /** @default GATEWAY_LIMITS.authorizerCacheEntries */
  authorizerCacheEntries?: number;
  /** Called once per request after the response is sent. */
  onRequest?: (entry: RequestLogEntry) => void;
  now?: () => number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  request_id: string;
}

interface CompiledRoute {
  spec: RouteSpec;
  pattern: RegExp;
  params: string[];
}

interface CachedDecision {
  isAuthorized: boolean;
  context?: Record<string, unknown>;
  expiresAt: number;
}

const TEXT_TYPES = /^(text\/|application\/(json|[a-z0-9.+-]+\+json|xml|[a-z0-9.+-]+\+xml|javascript|x-www-form-urlencoded|graphql))/i;

export function createGateway(options: GatewayOptions): http.Server {
  const routes = compileRoutes(options.routes ?? ROUTES);
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? GATEWAY_LIMITS.maxBodyBytes;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? GATEWAY_LIMITS.integrationTimeoutMs;
  const cache = new Map<string, CachedDecision>();
  const maxCachedDecisions = options.authorizerCacheEntries ?? GATEWAY_LIMITS.authorizerCacheEntries;

  /** API Gateway's identity-source cache, bounded: the oldest decision goes when it is full. */
  async function authorize(identity: string, event: APIGatewayProxyEventV2): Promise<CachedDecision | "error"> {
    const cached = cache.get(identity);
    if (cached && cached.expiresAt > now()) return cached;
    cache.delete(identity);
    let result: { isAuthorized?: unknown; context?: Record<string, unknown> };
    try {
      result = (await options.authorizer.fn.invoke(authorizerEvent(event, identity), options.authorizer.timeoutMs)) as typeof result;
    } catch {
      return "error";
    }
    const decision: CachedDecision = {
      isAuthorized: result?.isAuthorized === true,
      ...(result?.context ? { context: result.context } : {}),
      expiresAt: now() + options.authorizer.cacheTtlSeconds * 1000,
    };
    if (options.authorizer.cacheTtlSeconds > 0) {
      cache.delete(identity);
      while (cache.size >= maxCachedDecisions) cache.delete(cache.keys().next().value!);
      cache.set(identity, decision);
    }
    return decision;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<number> {
    const send = (status: number, message: string) => sendGatewayError(res, status, message);
    if (requestLineAndHeaderBytes(req) > GATEWAY_LIMITS.maxRequestLineAndHeaderBytes) return send(431, "Request Header Fields Too Large");
    const target = requestTarget(req.url ?? "/");
    const method = (req.method ?? "GET").toUpperCase();
    const match = matchRoute(routes, method, target.path);
    if (!match) return send(404, "Not Found");

    // Identity and an announced size first: a request without a valid key, or too large, never
    // gets its body read (Node discards what follows the answer).
    const startedAt = now();
    const identity = joinedHeaders(req).authorization;
    if (match.route.spec.scope !== null && !identity) return send(401, "Unauthorized");
    if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) return send(413, "Request Entity Too Large");
    let authorizerContext: Record<string, unknown> | undefined;
    if (match.route.spec.scope !== null && identity) {
      const decision = await authorize(identity, buildEvent(req, target, match, EMPTY_BODY, requestId, startedAt));
      if (decision === "error") return send(500, "Internal Server Error");
      if (!decision.isAuthorized) return send(403, "Forbidden");
      authorizerContext = decision.context ?? {};
    }

    const body = await readBody(req, maxBodyBytes);
    if (body === "too_large") return send(413, "Request Entity Too Large");
    const event = buildEvent(req, target, match, body, requestId, startedAt);
    if (authorizerContext) (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: authorizerContext };

    const handler = match.route.spec.handler;
    let result: unknown;
    try {
      result = await withTimeout(
        options.functions[handler].invoke(event, options.functionTimeoutsMs[handler]),
        integrationTimeoutMs,
      );
    } catch (error) {
      return error === INTEGRATION_TIMEOUT ? send(503, "Service Unavailable") : send(500, "Internal Server Error");
    }
    return writeResult(res, result);
  }

  return http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const requestId = gatewayRequestId();
    res.setHeader("apigw-requestid", requestId);
    handle(req, res, requestId)
      .catch(() => sendGatewayError(res, 500, "Internal Server Error"))
      .then((status) => {
        options.onRequest?.({
          method: req.method ?? "",
          path: (req.url ?? "/").split("?")[0]!,
          status,
          duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
          request_id: requestId,
        });
      });
  });
}

function compileRoutes(routes: readonly RouteSpec[]): CompiledRoute[] {
  return routes.map((spec) => {
    const params: string[] = [];
    const source = spec.path
      .split("/")
      .map((part) => {
        const param = /^\{([^}]+)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        params.push(param[1]!);
        return "([^/]+)";
      })
      .join("/");
    return { spec, pattern: new RegExp(`^${source}$`), params };
  });
}

function matchRoute(routes: CompiledRoute[], method: string, path: string) {
  for (const route of routes) {
    if (route.spec.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const pathParameters: Record<string, string> = {};
    route.params.forEach((name, i) => (pathParameters[name] = decodePathSegment(m[i + 1]!)));
    return { route, pathParameters };
  }
  return undefined;
}

/** A malformed escape (`%E0%A4%A`) is passed on as sent, for the handler to reject, never a 500. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Bytes of the request line plus every header value, as API Gateway counts them for its quota. */
function requestLineAndHeaderBytes(req: http.IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}`, "latin1");
  for (let i = 1; i < req.rawHeaders.length; i += 2) bytes += Buffer.byteLength(req.rawHeaders[i]!, "latin1");
  return bytes;
}

interface RequestTarget {
  path: string;
  /** Without the `?`. */
  query: string;
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * The path and query as sent, never resolved against a base URL: `new URL("//evil.example/events",
 * base)` would read a host and route to `/events`, where API Gateway matches the raw path (404).
 */
function requestTarget(target: string): RequestTarget {
  const q = target.indexOf("?");
  return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** API Gateway lower-cases names and joins repeated headers with commas; cookies go to `cookies`. */
function joinedHeaders(req: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name === "cookie") continue;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | "too_large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true; // keep draining so the client sees the 413, not a reset
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? "too_large" : Buffer.concat(chunks);
}

function buildEvent(
  req: http.IncomingMessage,
  target: RequestTarget,
  match: NonNullable<ReturnType<typeof matchRoute>>,
  body: Buffer,
  requestId: string,
  timeEpoch: number,
): APIGatewayProxyEventV2 {
  const headers = joinedHeaders(req);
  const cookies = (req.headers.cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .filter(Boolean);
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(target.query)) query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  const contentType = headers["content-type"] ?? "";
  const isText = body.length === 0 || (TEXT_TYPES.test(contentType) && !headers["content-encoding"]);
  const spec = match.route.spec;
  return {
    version: "2.0",
    routeKey: routeKey(spec),
    rawPath: target.path,
    rawQueryString: target.query,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(match.route.params.length ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: (headers.host ?? "localhost").split(".")[0]!,
      http: {
        method: spec.method,
        path: target.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: routeKey(spec),
      stage: "$default",
      time: clfTime(timeEpoch),
      timeEpoch,
    },
    ...(body.length ? { body: isText ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: !isText,
  };
}

function authorizerEvent(event: APIGatewayProxyEventV2, identity: string): APIGatewayRequestAuthorizerEventV2 {
  const { body: _body, isBase64Encoded: _b64, version: _v, ...rest } = event;
  return {
    ...rest,
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${event.requestContext.http.method}${event.rawPath}`,
    identitySource: [identity],
  } as APIGatewayRequestAuthorizerEventV2;
}

/** Payload 2.0 response rules: a structured result is used as given; anything else is 200 JSON. */
function writeResult(res: http.ServerResponse, result: unknown): number {
  const structured = result !== null && typeof result === "object" && "statusCode" in result;
  if (!structured) {
    const body = typeof result === "string" ? result : JSON.stringify(result);
    res.writeHead(200, { "content-type": "application/json" }).end(body);
    return 200;
  }
  const r = result as { statusCode: number; headers?: Record<string, string>; cookies?: string[]; body?: string; isBase64Encoded?: boolean };
  res.statusCode = r.statusCode;
  for (const [name, value] of Object.entries(r.headers ?? {})) res.setHeader(name, String(value));
  if (r.cookies?.length) res.setHeader("set-cookie", r.cookies);
  res.end(r.body === undefined ? undefined : Buffer.from(r.body, r.isBase64Encoded ? "base64" : "utf8"));
  return r.statusCode;
}

function sendGatewayError(res: http.ServerResponse, status: number, message: string): number {
  if (!res.headersSent) {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ message }));
  }
  return status;
}

const INTEGRATION_TIMEOUT = Symbol("integration timeout");

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(INTEGRATION_TIMEOUT), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** API Gateway's request ids look like `IZxYhjG5oAMEVzw=`. */
/** API Gateway's request id format; also on the local guard's 403 (guardLocalListener's responseHeaders). */
export function gatewayRequestId(): string {
  return randomBytes(10).toString("base64");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `22/Nov/2026:02:11:17 +0000`, the format of requestContext.time. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
