/**
 * A local S3 endpoint with just what the claim check calls (ADR 0035): PutObject, GetObject,
 * HeadObject and DeleteObject, path-style (`/<bucket>/<key>`), for the buckets it was started with.
 * The functions reach it through AWS_ENDPOINT_URL_S3, so the deployed code path (S3 client → HTTP)
 * runs locally unchanged. Objects live under `$DATA_DIR/s3/<bucket>/`, one file per key (named by
 * the key's SHA-256, so no key can name a path outside it) plus its metadata, written to a
 * temporary file and renamed, so a reader never sees half an object. A body is capped at S3's
 * single-PUT limit while it streams; anything else is answered as S3 answers it (XML errors).
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { AWS_LIMITS } from "../handlers/lib/primitives/limits";

export interface LocalS3Options {
  /** Where objects are kept: `<dir>/<bucket>/`. */
  dir: string;
  buckets: readonly string[];
  /** Largest body of one PutObject. @default AWS_LIMITS.s3PutObjectBytes */
  maxObjectBytes?: number;
}

interface ObjectMeta {
  key: string;
  etag: string;
  contentType: string;
  size: number;
  lastModified: string;
}

export function createS3Endpoint(options: LocalS3Options): http.Server {
  const maxObjectBytes = options.maxObjectBytes ?? AWS_LIMITS.s3PutObjectBytes;
  for (const bucket of options.buckets) fs.mkdirSync(path.join(options.dir, bucket), { recursive: true, mode: 0o700 });
  const buckets = new Set(options.buckets);

  return http.createServer((req, res) => {
    // Split by hand: URL would resolve `..` segments, and S3 keys are literal (`../x` is a key).
    const [pathname = "/", query = ""] = (req.url ?? "/").split("?", 2);
    const url = { search: query === "" ? "" : `?${query}` };
    const [, bucket = "", ...rest] = pathname.split("/");
    const key = rest.map(decodeURIComponent).join("/");
    const fail = (status: number, code: string, message: string) => {
      req.resume();
      res.writeHead(status, { "content-type": "application/xml" });
      // HEAD answers carry no body, as S3's do.
      res.end(req.method === "HEAD" ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>${escapeXml(key)}</Key></Error>`);
    };
    if (!buckets.has(bucket)) return fail(404, "NoSuchBucket", "The specified bucket does not exist");
    if (key === "") return fail(501, "NotImplemented", "the local S3 answers object operations only (PutObject, GetObject, HeadObject, DeleteObject)");
    if (url.search !== "" && !/^\?(x-id=\w+)?$/.test(url.search)) return fail(501, "NotImplemented", `the local S3 does not answer ${url.search}`);
    const file = path.join(options.dir, bucket, createHash("sha256").update(key).digest("hex"));

    switch (req.method) {
      case "PUT":
        return putObject(req, res, file, key, maxObjectBytes, fail);
      case "GET":
      case "HEAD": {
        const meta = readMeta(file);
        if (!meta) return fail(404, "NoSuchKey", "The specified key does not exist.");
        res.writeHead(200, { "content-type": meta.contentType, "content-length": String(meta.size), etag: meta.etag, "last-modified": meta.lastModified });
        if (req.method === "HEAD") return res.end();
        fs.createReadStream(`${file}.body`).on("error", () => res.destroy()).pipe(res);
        return;
      }
      case "DELETE":
        fs.rmSync(`${file}.meta`, { force: true });
        fs.rmSync(`${file}.body`, { force: true });
        res.writeHead(204).end();
        return;
      default:
        return fail(405, "MethodNotAllowed", `${req.method} is not allowed here`);
    }
  });
}

function putObject(req: http.IncomingMessage, res: http.ServerResponse, file: string, key: string, maxObjectBytes: number, fail: (status: number, code: string, message: string) => void): void {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (!Number.isFinite(declared)) return fail(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  if (declared > maxObjectBytes) return fail(400, "EntityTooLarge", `Your proposed upload exceeds the maximum allowed size of ${maxObjectBytes} bytes`);
  if (String(req.headers["content-encoding"] ?? "").includes("aws-chunked")) return fail(501, "NotImplemented", "the local S3 takes plain bodies, not aws-chunked ones");
  const temporary = `${file}.${randomUUID()}.tmp`;
  const out = fs.createWriteStream(temporary, { mode: 0o600 });
  const md5 = createHash("md5");
  let size = 0;
  let failed = false;
  const abandon = (status: number, code: string, message: string) => {
    if (failed) return;
    failed = true;
    out.destroy();
    fs.rmSync(temporary, { force: true });
    fail(status, code, message);
  };
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > declared) return abandon(400, "IncompleteBody", "the body is longer than its Content-Length");
    md5.update(chunk);
    out.write(chunk);
  });
  req.on("aborted", () => abandon(400, "IncompleteBody", "the request ended early"));
  req.on("error", () => abandon(400, "IncompleteBody", "the request failed"));
  req.on("end", () => {
    if (failed) return;
    if (size !== declared) return abandon(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header");
    out.end(() => {
      const etag = `"${md5.digest("hex")}"`;
      const meta: ObjectMeta = { key, etag, contentType: String(req.headers["content-type"] ?? "binary/octet-stream"), size, lastModified: new Date().toUTCString() };
      fs.renameSync(temporary, `${file}.body`);
      fs.writeFileSync(`${file}.meta`, JSON.stringify(meta), { mode: 0o600 });
      res.writeHead(200, { etag }).end();
    });
  });
}

function readMeta(file: string): ObjectMeta | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${file}.meta`, "utf8")) as ObjectMeta;
  } catch {
    return undefined;
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
