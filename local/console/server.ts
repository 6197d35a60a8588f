/**
 * The local console (`/_console` on the local stack's API port): a small static app and the JSON
 * it polls. It shows what happens inside the stack — events, the inbox, the ingest queue and its
 * DLQ, the pipeline's failures, webhook refusals with their reasons, deliveries and the catalogue
 * where those routes exist — and its actions go through the same code paths as the API and the
 * CLIs: ack and replay are requests to the local API with the local key, redrive is the redrive
 * CLI's own move task and the pipeline runner's own redrive.
 *
 * Only this page may read or drive it. The API port lets web apps call the API, so the console
 * adds its own guard: every `/_console/api/*` request must carry the per-start token that only the
 * console's page holds (a page on another origin cannot read that page, and a custom header makes
 * its fetch a CORS preflight this server never approves), and a browser's `Sec-Fetch-Site` must
 * say same-origin. The local key stays in this process; the browser never sees it.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import type { LocalFunction } from "../lambdaHost";

/** Where the console's queue numbers come from (queued mode); the local SQS through the real SDK. */
export interface ConsoleQueue {
  depths(): Promise<{ visible: number; inFlight: number; deadLetter: number; oldestAgeSeconds: number }>;
  /** Up to 10 dead-lettered messages, peeked without hiding them. */
  deadLetters(): Promise<{ message_id: string; receive_count: number; sent_at: string; body: string }[]>;
  /** The redrive CLI's move task; resolves to its report. */
  redrive(): Promise<unknown>;
}

export interface ConsolePipeline {
  name: string;
  failures(): { body: string; attributes: Record<string, string> }[];
  redrive(): number | Promise<number>;
}

export interface ConsoleSources {
  /** The local API's base URL (known once the gateway listens). */
  apiUrl(): string;
  /** The local API key (read from `$DATA_DIR/local-api-key`). */
  apiKey(): string;
  webhookSources(): { name: string; scheme: string }[];
  queue?: ConsoleQueue;
  pipeline?: ConsolePipeline;
}

/** A webhook request as the webhook function saw it: which headers were checked, and the answer. */
export interface WebhookExchange {
  at: string;
  source: string;
  status: number;
  /** The refusal's reason (`invalid_signature`, …) from the problem document; absent when stored. */
  reason?: string;
  detail?: string;
  event_id?: string;
  /** Signature and identity headers as sent (signatures are not secrets; no secret is ever here). */
  headers: Record<string, string>;
}

const STATIC_DIR = path.join(__dirname, "static");
const STATIC_FILES: Record<string, string> = {
  "/_console/app.js": "text/javascript; charset=utf-8",
  "/_console/style.css": "text/css; charset=utf-8",
};
/** Headers a webhook scheme checks (Standard Webhooks, GitHub, Stripe); everything else is left out. */
const CHECKED_HEADERS = /^(webhook-(id|timestamp|signature)|x-hub-signature-256|x-github-(event|delivery)|stripe-signature|content-type)$/;
const KEEP_EXCHANGES = 200;
const QUEUE_SAMPLES = 300;

export interface LocalConsole {
  /** Answers a `/_console` request; false when the path is not the console's. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Wraps the webhook function so the console sees each request's checked headers and answer. */
  observeWebhook(fn: LocalFunction): LocalFunction;
  /** Samples queue depth once a second (queued mode) until `close`. */
  close(): void;
  readonly token: string;
}

export function createConsole(sources: ConsoleSources): LocalConsole {
  const token = randomBytes(24).toString("base64url");
  const exchanges: WebhookExchange[] = [];
  const queueSamples: { at: number; visible: number; inFlight: number; deadLetter: number }[] = [];
  const sampler = sources.queue ? setInterval(() => void sampleQueue(), 1000) : undefined;
  sampler?.unref();

  async function sampleQueue() {
    try {
      const d = await sources.queue!.depths();
      queueSamples.push({ at: Date.now(), visible: d.visible, inFlight: d.inFlight, deadLetter: d.deadLetter });
      if (queueSamples.length > QUEUE_SAMPLES) queueSamples.shift();
    } catch {
      // the local SQS is stopping; the next sample tells
    }
  }

  /** A request to the local API with the local key: the same code path as any client. */
  async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
    const response = await fetch(sources.apiUrl() + route, {
      method,
      headers: { authorization: `Bearer ${sources.apiKey()}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
    return { status: response.status, body: parsed, text };
  }

  async function state() {
    const [events, inbox] = await Promise.all([api("GET", "/events?limit=100"), api("GET", "/inbox?limit=50")]);
    const queue = sources.queue
      ? { ...(await sources.queue.depths()), dead_letters: await sources.queue.deadLetters(), samples: queueSamples }
      : null;
    const pipeline = sources.pipeline
      ? { name: sources.pipeline.name, failures: sources.pipeline.failures().map(describeFailure) }
      : null;
    return {
      events: events.body,
      inbox: inbox.body,
      queue,
      pipeline,
      webhooks: { sources: sources.webhookSources(), recent: [...exchanges].reverse() },
    };
  }

  async function route(req: http.IncomingMessage, pathname: string): Promise<{ status: number; body: unknown }> {
    const method = req.method ?? "GET";
    if (method === "GET" && pathname === "/_console/api/state") return { status: 200, body: await state() };
    let m = /^\/_console\/api\/events\/([^/]+)$/.exec(pathname);
    if (method === "GET" && m) {
      const id = encodeURIComponent(decodeURIComponent(m[1]!));
      const [event, deliveries] = await Promise.all([api("GET", `/events/${id}`), api("GET", `/events/${id}/deliveries`)]);
      // `raw` is the API's own text: the page prints its numbers digit for digit, never through a double.
      return { status: event.status, body: { event: event.body, raw: event.text, deliveries: deliveries.status === 200 ? deliveries.body : null } };
    }
    m = /^\/_console\/api\/events\/([^/]+)\/(ack|replay)$/.exec(pathname);
    if (method === "POST" && m) return api("POST", `/events/${encodeURIComponent(decodeURIComponent(m[1]!))}/${m[2]}`, m[2] === "replay" ? {} : undefined);
    if (method === "GET" && pathname === "/_console/api/catalog") return api("GET", "/catalog");
    if (method === "POST" && pathname === "/_console/api/queue/redrive") {
      if (!sources.queue) return { status: 404, body: { message: "the stack is not in queued mode" } };
      return { status: 200, body: await sources.queue.redrive() };
    }
    if (method === "POST" && pathname === "/_console/api/pipeline/redrive") {
      if (!sources.pipeline) return { status: 404, body: { message: "the pipeline is not running (PIPELINE=true npm run dev)" } };
      return { status: 200, body: { moved: await sources.pipeline.redrive() } };
    }
    return { status: 404, body: { message: "Not Found" } };
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const pathname = (req.url ?? "/").split("?")[0]!;
    if (pathname !== "/_console" && !pathname.startsWith("/_console/")) return false;
    const security = {
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "cross-origin-resource-policy": "same-origin",
      "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      "cache-control": "no-store",
    };
    if (pathname === "/_console" || pathname === "/_console/") {
      const html = fs.readFileSync(path.join(STATIC_DIR, "index.html"), "utf8").replace("__CONSOLE_TOKEN__", token);
      res.writeHead(200, { ...security, "content-type": "text/html; charset=utf-8" }).end(html);
      return true;
    }
    const type = STATIC_FILES[pathname];
    if (type && req.method === "GET") {
      res.writeHead(200, { ...security, "content-type": type }).end(fs.readFileSync(path.join(STATIC_DIR, pathname.slice("/_console/".length))));
      return true;
    }
    const refusal = apiRefusal(req, token);
    if (refusal) {
      res.writeHead(403, { ...security, "content-type": "application/json" }).end(JSON.stringify({ message: `Forbidden: ${refusal}` }));
      return true;
    }
    route(req, pathname)
      .then(({ status, body }) => res.writeHead(status, { ...security, "content-type": "application/json" }).end(JSON.stringify(body ?? null)))
      .catch((error: Error) => res.writeHead(502, { ...security, "content-type": "application/json" }).end(JSON.stringify({ message: error.message })));
    return true;
  }

  function observeWebhook(fn: LocalFunction): LocalFunction {
    return {
      ...fn,
      async invoke(event, timeoutMs) {
        const result = await fn.invoke(event, timeoutMs);
        try {
          exchanges.push(webhookExchange(event as WebhookEvent, result as WebhookResult));
          if (exchanges.length > KEEP_EXCHANGES) exchanges.shift();
        } catch {
          // an unreadable exchange is left out of the console, never out of the answer
        }
        return result;
      },
    };
  }

  return { handle, observeWebhook, token, close: () => sampler && clearInterval(sampler) };
}

/** Why a `/_console/api` request is refused, or undefined. */
export function apiRefusal(req: http.IncomingMessage, token: string): string | undefined {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") return "the console answers only its own page";
  if (req.headers.origin !== undefined && !isOwnOrigin(req)) return "the console answers only its own page";
  const given = Buffer.from(String(req.headers["x-console-token"] ?? ""));
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "missing or wrong console token";
  return undefined;
}

function isOwnOrigin(req: http.IncomingMessage): boolean {
  return req.headers.origin === `http://${req.headers.host}`;
}

interface WebhookEvent {
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  rawPath?: string;
}
interface WebhookResult {
  statusCode?: number;
  body?: string;
}

function webhookExchange(event: WebhookEvent, result: WebhookResult): WebhookExchange {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (CHECKED_HEADERS.test(name.toLowerCase())) headers[name.toLowerCase()] = value;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(result?.body ?? "{}") as Record<string, unknown>;
  } catch {
    // not JSON: status alone
  }
  const status = result?.statusCode ?? 200;
  return {
    at: new Date().toISOString(),
    source: event.pathParameters?.source ?? (event.rawPath ?? "").split("/").pop() ?? "",
    status,
    ...(status >= 400 ? { reason: String(body.code ?? body.reason ?? problemName(body.type) ?? body.title ?? "refused") } : {}),
    ...(status >= 400 && typeof body.detail === "string" ? { detail: body.detail } : {}),
    ...(typeof body.event_id === "string" ? { event_id: body.event_id } : {}),
    headers,
  };
}

/** `https://…/problems/invalid_signature` → `invalid_signature`. */
function problemName(type: unknown): string | undefined {
  return typeof type === "string" && type.includes("/") ? type.split("/").pop() : undefined;
}

function describeFailure(f: { body: string; attributes: Record<string, string> }) {
  return { body: f.body, stage: f.attributes.failed_stage ?? f.attributes.stage ?? "", error: f.attributes.error ?? "", cause: f.attributes.cause ?? "" };
}

/** Puts the console in front of the gateway: `/_console` paths go to the console, the rest to the API. */
export function mountConsole(server: http.Server, localConsole: LocalConsole): void {
  const listeners = server.listeners("request") as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (localConsole.handle(req, res)) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
}
