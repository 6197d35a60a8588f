/** HTTP responses in the shape API Gateway (payload format 2.0) expects, errors as RFC 9457. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { writeJson } from "../primitives/json";

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

/** One problem in the request: where (a JSON Pointer into the body, or a header) and what. */
export interface FieldError {
  pointer?: string;
  header?: string;
  /** A query string parameter. */
  parameter?: string;
  detail: string;
  code?: string;
}

export interface ProblemInit {
  status: number;
  /** Stable machine-readable code; also the last part of the `type` URI. */
  code: string;
  title: string;
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

export const PROBLEM_TYPE_PREFIX = "urn:event-ingestion:problem:";

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): Response {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: writeJson(body),
  };
}

export function problem(init: ProblemInit, requestId: string): Response {
  const body = {
    type: PROBLEM_TYPE_PREFIX + init.code,
    title: init.title,
    status: init.status,
    ...(init.detail === undefined ? {} : { detail: init.detail }),
    code: init.code,
    request_id: requestId,
    ...(init.errors === undefined ? {} : { errors: init.errors }),
  };
  return {
    statusCode: init.status,
    headers: { "content-type": "application/problem+json", ...init.headers },
    body: JSON.stringify(body),
  };
}

/** Header lookup; API Gateway 2.0 lower-cases header names, but be tolerant of hand-made events. */
export function header(event: Pick<APIGatewayProxyEventV2, "headers">, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** `application/json`, optionally with parameters, or any `application/*+json`. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mediaType = value.split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}
