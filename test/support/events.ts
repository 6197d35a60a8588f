/**
 * Hand-built API Gateway HTTP API events (payload format 2.0), shaped as AWS delivers them:
 * lower-cased header names, the Lambda authorizer's context under requestContext.authorizer.lambda.
 */
import type { APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import type { AuthorizerContext, HttpEvent } from "../../handlers/lib/http/request";

/** API Gateway's request time in the events below: 2026-01-01T00:00:00.000Z. */
export const TIME_EPOCH = Date.UTC(2026, 0, 1);
export const DEFAULT_CALLER: AuthorizerContext = { key_id: "0123456789abcdef", scopes: "ingest read ack" };

export interface HttpEventInit {
  routeKey?: string;
  body?: string;
  isBase64Encoded?: boolean;
  /** Merged over `content-type: application/json`; an `undefined` value removes the header. */
  headers?: Record<string, string | undefined>;
  requestId?: string;
  timeEpoch?: number;
  /** The authorizer context; `null` for a request without one. */
  caller?: AuthorizerContext | null;
}

let sequence = 0;

export function httpEvent(init: HttpEventInit = {}): HttpEvent {
  const routeKey = init.routeKey ?? "POST /events";
  const rawPath = routeKey.split(" ")[1] ?? "/";
  const timeEpoch = init.timeEpoch ?? TIME_EPOCH;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ "content-type": "application/json", ...init.headers })) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const caller = init.caller === undefined ? DEFAULT_CALLER : init.caller;
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: "",
    headers,
    requestContext: {
      ...requestContext(routeKey, init.requestId ?? `req-${++sequence}`, timeEpoch),
      authorizer: { lambda: caller ?? undefined },
    },
    ...(init.body === undefined ? {} : { body: init.body }),
    isBase64Encoded: init.isBase64Encoded ?? false,
  };
}

/** `POST /events` with `body` as JSON (a string is sent verbatim). */
export function postEvent(body: unknown, init: Omit<HttpEventInit, "body" | "routeKey"> = {}): HttpEvent {
  return httpEvent({ ...init, routeKey: "POST /events", body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** The authorizer's event; `authorization` undefined means the request carried no such header. */
export function authorizerEvent(authorization: string | undefined, routeKey = "POST /events"): APIGatewayRequestAuthorizerEventV2 {
  const [method = "POST", rawPath = "/"] = routeKey.split(" ");
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:eu-north-1:123456789012:api0000001/$default/${method}${rawPath}`,
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey,
    rawPath,
    rawQueryString: "",
    cookies: [],
    headers: authorization === undefined ? {} : { authorization },
    requestContext: requestContext(routeKey, `auth-${++sequence}`, TIME_EPOCH),
  };
}

/** The requestContext API Gateway puts in both kinds of event. */
function requestContext(routeKey: string, requestId: string, timeEpoch: number) {
  const [method = "POST", rawPath = "/"] = routeKey.split(" ");
  return {
    accountId: "123456789012",
    apiId: "api0000001",
    domainName: "api0000001.execute-api.eu-north-1.amazonaws.com",
    domainPrefix: "api0000001",
    http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" },
    requestId,
    routeKey,
    stage: "$default",
    time: new Date(timeEpoch).toUTCString(),
    timeEpoch,
  };
}
