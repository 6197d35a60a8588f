/**
 * The request envelope every HTTP handler shares: the caller from the authorizer context, the
 * route's scope check, fault mapping (storage faults → 503 + Retry-After, anything else → 500
 * without details), and one structured log line per request.
 */
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from "aws-lambda";
import { findRoute, SCOPES, type Scope } from "../../routes";
import { problem, type Response } from "./http";
import { RETRY_AFTER_SECONDS } from "../primitives/limits";
import { log, type LogFields } from "../ops/log";
import { errorName, isOutcomeUnknown, isStorageUnavailable, QueueSendError } from "../primitives/faults";

/** What the API key authorizer puts in `requestContext.authorizer.lambda`. */
export interface AuthorizerContext {
  key_id: string;
  /** Space-separated scopes. */
  scopes: string;
}

export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext | undefined>;

export interface Caller {
  keyId: string;
  scopes: Scope[];
}

export interface RequestContext {
  requestId: string;
  /** Undefined on public routes. */
  caller?: Caller;
  /** Extra fields for this request's log line (ids, reasons; never payloads or keys). */
  logFields: LogFields;
}

export type HttpImplementation = (event: HttpEvent, ctx: RequestContext) => Promise<Response>;

export function callerOf(event: HttpEvent): Caller | undefined {
  const context = event.requestContext?.authorizer?.lambda;
  if (!context || typeof context.key_id !== "string") return undefined;
  const scopes = String(context.scopes ?? "")
    .split(" ")
    .filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return { keyId: context.key_id, scopes };
}

export function httpHandler(impl: HttpImplementation): (event: HttpEvent) => Promise<Response> {
  let coldStart = true;
  return async (event) => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const caller = callerOf(event);
    const ctx: RequestContext = { requestId, logFields: {}, ...(caller ? { caller } : {}) };
    let response: Response;
    try {
      response = checkScope(event, caller, requestId) ?? (await impl(event, ctx));
    } catch (error) {
      response = faultResponse(error, requestId, ctx.logFields);
    }
    response.headers["x-request-id"] = requestId;
    log(response.statusCode >= 500 ? "ERROR" : "INFO", "request", {
      request_id: requestId,
      route: event.routeKey,
      status: response.statusCode,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      cold_start: coldStart,
      key_id: caller?.keyId,
      ...ctx.logFields,
    });
    coldStart = false;
    return response;
  };
}

function checkScope(event: HttpEvent, caller: Caller | undefined, requestId: string): Response | undefined {
  const route = findRoute(event.routeKey);
  if (!route) return problem({ status: 404, code: "not_found", title: "No such route" }, requestId);
  if (route.scope === null) return undefined;
  if (caller?.scopes.includes(route.scope)) return undefined;
  return problem(
    {
      status: 403,
      code: "insufficient_scope",
      title: "API key lacks the required scope",
      detail: `this route requires the "${route.scope}" scope`,
      headers: { "www-authenticate": `Bearer error="insufficient_scope", scope="${route.scope}"` },
    },
    requestId,
  );
}

function faultResponse(error: unknown, requestId: string, fields: LogFields): Response {
  fields.error = errorName(error) ?? "Error";
  if (error instanceof QueueSendError) {
    fields.queue_error = error.code;
    return problem({ status: 503, code: "queue_unavailable", title: "The ingest queue is temporarily unavailable", detail: queueFaultDetail(error, "the event"), headers: { "retry-after": String(RETRY_AFTER_SECONDS) } }, requestId);
  }
  if (isStorageUnavailable(error)) {
    return problem(
      {
        status: 503,
        code: "storage_unavailable",
        title: "Storage is temporarily unavailable",
        detail: isOutcomeUnknown(error)
          ? "Storage did not confirm the write in time, so it may or may not have been applied. Retry after the delay in Retry-After with the same Idempotency-Key: an event that was stored is answered as a duplicate, never stored twice."
          : "Nothing was stored. Retry after the delay in Retry-After; an Idempotency-Key makes the retry safe.",
        headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
      },
      requestId,
    );
  }
  return problem({ status: 500, code: "internal_error", title: "Internal error" }, requestId);
}

/** What a client may assume after a failed send to the ingest queue (queued mode). */
export function queueFaultDetail(error: QueueSendError, what: string): string {
  return error.mayHaveBeenQueued
    ? `The queue did not confirm ${what} in time, so it may or may not have been queued. Retry after the delay in Retry-After with the same Idempotency-Key: a queued event is stored once, never twice.`
    : `Not queued. Retry after the delay in Retry-After; an Idempotency-Key makes the retry safe.`;
}
