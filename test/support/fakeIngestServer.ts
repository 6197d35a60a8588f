/**
 * An in-process stand-in for the ingest routes, for the client's property test, unit tests and
 * bench: real HTTP on 127.0.0.1 (port 0), the contract's answers (201 / 200 duplicate / 422 key
 * reused, 200 or 207 with per-item results, 400 for an invalid event type, gzip bodies), keyed
 * storage in a Map, and a queue of faults, one taken per request. The end-to-end tests use the real
 * local stack; this exists to run hundreds of fault sequences in seconds.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gunzipSync } from "node:zlib";

/**
 * - `ok`: answer as the server would;
 * - `drop-before`: reset the connection, store nothing;
 * - `drop-after`: store, then reset the connection (the answer is lost);
 * - `slow`: wait `slowMs` (longer than the client's timeout), then store and answer;
 * - `503` / `429` / `500` / `408` / `400` / `401`: answer that status for the whole request, store nothing;
 * - `item-503`: store the even items, answer the odd ones 503 (not stored), in a 207.
 * - `hang`: never answer.
 */
export type FakeFault = "ok" | "drop-before" | "drop-after" | "slow" | "503" | "429" | "500" | "408" | "400" | "401" | "item-503" | "hang";

export interface FakeRequest {
  path: string;
  contentEncoding: string | undefined;
  /** Bytes on the wire and after decompression. */
  wireBytes: number;
  bodyBytes: number;
  authorization: string | undefined;
  /** The idempotency key of each event it carried, in order. */
  keys: string[];
  fault: FakeFault;
}

export interface StoredEvent {
  eventId: string;
  item: Record<string, unknown>;
}

export interface FakeIngestServer {
  url: string;
  apiKey: string;
  /** Faults for the next requests, first in first out; `ok` once empty. */
  faults: FakeFault[];
  /** By idempotency key. */
  readonly stored: Map<string, StoredEvent>;
  readonly requests: FakeRequest[];
  retryAfterSeconds: number;
  slowMs: number;
  reset(): void;
  close(): Promise<void>;
}

const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export async function startFakeIngestServer(options: { apiKey?: string; retryAfterSeconds?: number; slowMs?: number } = {}): Promise<FakeIngestServer> {
  const apiKey = options.apiKey ?? "fake-key-0123456789";
  const sockets = new Set<Socket>();
  const state: FakeIngestServer = {
    url: "",
    apiKey,
    faults: [],
    stored: new Map(),
    requests: [],
    retryAfterSeconds: options.retryAfterSeconds ?? 0,
    slowMs: options.slowMs ?? 150,
    reset() {
      state.faults.length = 0;
      state.stored.clear();
      state.requests.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  /** One event: the stored-or-duplicate-or-rejected answer. */
  function store(item: Record<string, unknown>, key: string): { status: number; event_id?: string; duplicate?: true; error?: Record<string, unknown> } {
    if (typeof item.event_type !== "string" || !EVENT_TYPE.test(item.event_type)) {
      return { status: 400, error: { code: "validation_failed", title: "Request body does not match the event schema", errors: [{ pointer: "/event_type", detail: "invalid" }] } };
    }
    const { idempotency_key: _key, ...content } = item;
    const existing = state.stored.get(key);
    if (existing) {
      const { idempotency_key: _k, ...before } = existing.item;
      if (JSON.stringify(before) !== JSON.stringify(content)) return { status: 422, error: { code: "idempotency_key_reused", title: "Idempotency-Key reused with a different request" } };
      return { status: 200, event_id: existing.eventId, duplicate: true };
    }
    const eventId = `evt_${createHash("sha256").update(key).digest("hex").slice(0, 26)}`;
    state.stored.set(key, { eventId, item: content });
    return { status: 201, event_id: eventId };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const wire = Buffer.concat(chunks);
      const encoding = req.headers["content-encoding"];
      const raw = encoding === "gzip" ? gunzipSync(wire) : wire;
      const path = req.url ?? "";
      const body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      const batch = path === "/events/batch";
      const items = (batch ? (body.events as Record<string, unknown>[]) : [body]).map((item) => item);
      const keys = batch ? items.map((i) => String(i.idempotency_key)) : [String(req.headers["idempotency-key"])];
      const fault = state.faults.shift() ?? "ok";
      state.requests.push({ path, contentEncoding: encoding, wireBytes: wire.length, bodyBytes: raw.length, authorization: req.headers.authorization, keys, fault });

      if (req.headers.authorization !== `Bearer ${apiKey}` || fault === "401") return send(401, { message: "Unauthorized" });
      if (fault === "hang") return;
      if (fault === "drop-before") return req.socket.destroy();
      if (/^\d+$/.test(fault)) {
        const status = Number(fault);
        return send(status, { type: "about:blank", title: `injected ${status}`, status, code: `injected_${status}` }, status === 503 || status === 429 ? { "retry-after": String(state.retryAfterSeconds) } : {});
      }
      if (fault === "slow") await new Promise((resolve) => setTimeout(resolve, state.slowMs));

      const results = items.map((item, index) => {
        if (fault === "item-503" && index % 2 === 1) return { index, status: 503, error: { code: "storage_unavailable", title: "Storage is temporarily unavailable" } };
        return { index, ...store(item, keys[index]!) };
      });
      if (fault === "drop-after") return req.socket.destroy();
      if (!batch) {
        const [result] = results;
        if (result!.error) return send(result!.status, { type: "about:blank", title: result!.error.title, status: result!.status, ...result!.error });
        return send(result!.status, { event_id: result!.event_id, status: "pending", ...(result!.duplicate ? { duplicate: true } : {}) });
      }
      const mixed = results.some((r) => r.status >= 300);
      send(mixed ? 207 : 200, { request_id: "fake", results }, results.some((r) => r.status === 503) ? { "retry-after": String(state.retryAfterSeconds) } : {});

      function send(status: number, answer: unknown, headers: Record<string, string> = {}): void {
        res.writeHead(status, { "content-type": status >= 400 ? "application/problem+json" : "application/json", ...headers });
        res.end(JSON.stringify(answer));
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
