/** The request body as API Gateway hands it over: maybe base64, always checked in UTF-8 bytes. */
import type { ProblemInit } from "./http";
import type { HttpEvent } from "./request";

export type DecodedBody = { ok: true; text: string } | { ok: false; problem: ProblemInit };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function decodeBody(event: Pick<HttpEvent, "body" | "isBase64Encoded">, maxBytes: number): DecodedBody {
  const raw = event.body ?? "";
  const bytes = event.isBase64Encoded ? Buffer.from(raw, "base64") : undefined;
  const size = bytes ? bytes.length : Buffer.byteLength(raw, "utf8");
  if (size > maxBytes) {
    return {
      ok: false,
      problem: { status: 413, code: "payload_too_large", title: "Request body too large", detail: `the body is ${size} bytes; the limit is ${maxBytes} bytes of UTF-8` },
    };
  }
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
