/** Assertions on handler responses: JSON bodies and RFC 9457 problems. */
import { expect } from "chai";
import { PROBLEM_TYPE_PREFIX, type FieldError, type Response } from "../../handlers/lib/http/http";
import type { HttpEvent } from "../../handlers/lib/http/request";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
}

export function jsonBody<T = Record<string, unknown>>(response: Response): T {
  return JSON.parse(response.body ?? "") as T;
}

/** Asserts `response` is an application/problem+json `status` with `code` for `event`'s request. */
export function expectProblem(response: Response, event: HttpEvent, status: number, code: string): ProblemBody {
  expect(response.statusCode, response.body).to.equal(status);
  expect(response.headers["content-type"]).to.equal("application/problem+json");
  const body = jsonBody<ProblemBody>(response);
  expect(body).to.include({ type: PROBLEM_TYPE_PREFIX + code, status, code, request_id: event.requestContext.requestId });
  expect(body.title).to.be.a("string").and.not.equal("");
  expect(response.headers["x-request-id"]).to.equal(event.requestContext.requestId);
  return body;
}

/** The JSON Pointers of a problem's field errors, in order. */
export function pointers(body: ProblemBody): (string | undefined)[] {
  return (body.errors ?? []).map((e) => e.pointer);
}
