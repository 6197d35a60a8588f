/**
 * Reading a request body on the local AWS endpoints (SQS, SSM, SNS) with a cap: the real service's
 * request limit plus headroom. Past the cap nothing more is kept (the rest is drained, so the client
 * reads the service's own error instead of a reset connection), and a client that aborts mid-body
 * ends the read quietly: no single request can exhaust memory or stop the local stack's process.
 */
import type * as http from "node:http";

export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: "too_large" | "aborted" };

export function readCappedBody(req: http.IncomingMessage, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An announced size past the cap is answered at once; the caller's `connection: close` drops the rest.
    if (Number(req.headers["content-length"] ?? 0) > maxBytes) return resolve({ ok: false, reason: "too_large" });
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? { ok: false, reason: "too_large" } : { ok: true, body: Buffer.concat(chunks) }));
    req.on("error", () => resolve({ ok: false, reason: "aborted" }));
    req.on("aborted", () => resolve({ ok: false, reason: "aborted" }));
  });
}
