/**
 * One HTTP attempt: POST a body (gzip-compressed above a size, which the server accepts as
 * `Content-Encoding: gzip`), abort it after `timeoutMs`, and report either the answer (status,
 * Retry-After, parsed JSON) or the network failure. Deciding what the answer means is verdicts.ts.
 */

export type AttemptResult =
  | { kind: "answer"; status: number; retryAfterMs: number | undefined; body: unknown }
  | { kind: "network"; error: string; timedOut: boolean; stopped: boolean };

export interface PostRequest {
  fetch: typeof fetch;
  url: string;
  apiKey: string;
  body: string;
  bodyBytes: number;
  idempotencyKey?: string;
  timeoutMs: number;
  gzipMinBytes: number;
  /** The client's stop signal: aborting it cancels the attempt. */
  stop: AbortSignal;
}

export async function post(request: PostRequest): Promise<AttemptResult> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${request.apiKey}`,
    "content-type": "application/json",
  };
  if (request.idempotencyKey !== undefined) headers["idempotency-key"] = request.idempotencyKey;
  let body: string | Uint8Array<ArrayBuffer> = request.body;
  if (request.bodyBytes >= request.gzipMinBytes) {
    body = await gzip(request.body);
    headers["content-encoding"] = "gzip";
  }

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, request.timeoutMs);
  const onStop = () => controller.abort();
  if (request.stop.aborted) controller.abort();
  else request.stop.addEventListener("abort", onStop, { once: true });
  try {
    const response = await request.fetch(request.url, { method: "POST", headers, body, signal: controller.signal });
    const text = await response.text();
    return { kind: "answer", status: response.status, retryAfterMs: parseRetryAfter(response.headers.get("retry-after")), body: parseJson(text) };
  } catch (error) {
    const stopped = request.stop.aborted;
    return { kind: "network", error: timedOut ? "timeout" : stopped ? "aborted" : describeNetworkError(error, request.apiKey), timedOut, stopped };
  } finally {
    clearTimeout(timer);
    request.stop.removeEventListener("abort", onStop);
  }
}

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const compressed = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text === "" ? undefined : text;
  }
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `network: ECONNRESET`: the most specific code or message fetch gives, with the key scrubbed should any layer ever echo it. */
function describeNetworkError(error: unknown, apiKey: string): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : error instanceof Error ? error.message : String(error);
  return `network: ${detail}`.split(apiKey).join("[redacted]");
}
