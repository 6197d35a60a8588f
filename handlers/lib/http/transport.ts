/**
 * The request body as API Gateway hands it over: maybe base64, maybe gzip, always measured in
 * UTF-8 bytes after decompression. Decompression stops at the limit, so a gzip bomb costs at most
 * `maxBytes` of memory and gets a 413.
 */
import { gunzipSync } from "node:zlib";
import { header, type ProblemInit } from "./http";
import type { HttpEvent } from "./request";

export type DecodedBody = { ok: true; text: string } | { ok: false; problem: ProblemInit };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

const tooLarge = (detail: string): DecodedBody => ({
  ok: false,
  problem: { status: 413, code: "payload_too_large", title: "Request body too large", detail },
});

export function decodeBody(event: Pick<HttpEvent, "body" | "isBase64Encoded" | "headers">, maxBytes: number): DecodedBody {
  const raw = event.body ?? "";
  const encoding = (header(event, "content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    return {
      ok: false,
      problem: { status: 415, code: "unsupported_content_encoding", title: "Unsupported Content-Encoding", detail: "send gzip or an uncompressed body" },
    };
  }
  let bytes: Buffer | undefined = event.isBase64Encoded ? Buffer.from(raw, "base64") : undefined;
  if (encoding === "gzip") {
    // API Gateway hands a compressed (binary) body over base64-encoded.
    const compressed = bytes ?? Buffer.from(raw, "latin1");
    if (compressed.length > maxBytes) return tooLarge(`the compressed body alone is ${compressed.length} bytes; the limit is ${maxBytes} bytes`);
    try {
      bytes = gunzipSync(compressed, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return tooLarge(`the body decompresses to more than ${maxBytes} bytes`);
      }
      return { ok: false, problem: { status: 400, code: "invalid_encoding", title: "Request body is not valid gzip" } };
    }
  }
  const size = bytes ? bytes.length : Buffer.byteLength(raw, "utf8");
  if (size > maxBytes) return tooLarge(`the body is ${size} bytes; the limit is ${maxBytes} bytes of UTF-8`);
  let text = raw;
  if (bytes) {
    try {
      text = utf8.decode(bytes);
    } catch {
      return { ok: false, problem: { status: 400, code: "invalid_encoding", title: "Request body is not valid UTF-8" } };
    }
  }
  if (text.trim() === "") {
    return { ok: false, problem: { status: 400, code: "invalid_json", title: "Request body is empty", detail: "send one JSON object" } };
  }
  return { ok: true, text };
}
