/** Bytes of one API Gateway access log line: the stage's format filled with a typical request. */

/** What API Gateway substitutes for each `$context` variable on a typical POST /events; "-" when absent. */
const TYPICAL_CONTEXT: Record<string, string> = {
  "$context.requestId": "J2yJ0hq3liAEMfg=",
  "$context.identity.sourceIp": "203.0.113.7",
  "$context.requestTime": "22/Nov/2026:10:00:00 +0000",
  "$context.httpMethod": "POST",
  "$context.routeKey": "POST /events",
  "$context.status": "201",
  "$context.protocol": "HTTP/1.1",
  "$context.responseLength": "130",
  "$context.responseLatency": "12",
  "$context.integrationLatency": "9",
};

export function accessLogLineBytes(format: string): number {
  const line = format.replace(/\$context\.[A-Za-z0-9_.]+/g, (variable) => TYPICAL_CONTEXT[variable] ?? "-");
  return Buffer.byteLength(line) + 1;
}

/** The deployed stage's format. Loaded on demand: the component pulls in @pulumi/aws. */
export function deployedAccessLogBytes(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ACCESS_LOG_FORMAT } = require("../components/EventIngestionApi") as { ACCESS_LOG_FORMAT: string };
  return accessLogLineBytes(ACCESS_LOG_FORMAT);
}
