/**
 * The claim check's object store (ADR 0035): payloads whose compressed form would still pass
 * DynamoDB's 400 KB item limit live in S3, one object per event, and the item names the object.
 * An interface, so the repository does not care whether S3 or the local stack's S3 answers, and
 * the object's write is ordered before the item's (an item never names an object not yet written).
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { isStorageUnavailable } from "../primitives/faults";
import { ENV } from "../primitives/tables";

export interface PayloadObjects {
  /** Resolves once the object is durably stored; throws PayloadObjectWriteError when S3 could not take it. */
  put(key: string, body: Uint8Array): Promise<void>;
  /**
   * The object's bytes. Throws PayloadObjectUnreadableError when it is not there or is larger than
   * `maxBytes` (checked before its body is read); other faults (throttling, 5xx) as thrown.
   */
  get(key: string, options?: { maxBytes?: number }): Promise<Uint8Array>;
  /** Best effort: removes an object no item names (a lost race for an id). */
  delete(key: string): Promise<void>;
}

/**
 * S3 did not take an object, so the event's item was never written: nothing is stored, and the
 * client may retry (503). Named so faults.ts classifies it as storage unavailable, not applied.
 */
export class PayloadObjectWriteError extends Error {
  override readonly name = "PayloadObjectWriteError";
  constructor(readonly key: string, cause: unknown) {
    super(`the payload object ${key} could not be written: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * An object that can never be read as asked: absent, or larger than the reader's bound. S3 answers
 * a missing key with 404 NoSuchKey only to a caller allowed s3:ListBucket; our functions are granted
 * objects under `events/*` only, never the bucket, so to them a missing key is 403 AccessDenied
 * (S3 API Reference, GetObject, "Permissions"). Both count as absent (ADR 0043).
 */
export class PayloadObjectUnreadableError extends Error {
  override readonly name = "PayloadObjectUnreadableError";
  constructor(readonly key: string, readonly reason: "missing" | "too_large", detail: string) {
    super(`the payload object ${key} ${detail}`);
  }
}

/** Whether S3's error means the object is not there (or, without s3:ListBucket, may not be). */
export function isMissingObject(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (["NoSuchKey", "NotFound", "AccessDenied"].includes(e?.name ?? "") || ["NoSuchKey", "AccessDenied"].includes(e?.Code ?? "")) return true;
  const status = e?.$metadata?.httpStatusCode;
  return status === 404 || status === 403;
}

/**
 * Like the DynamoDB client: three attempts with short timeouts inside the function's timeout. A
 * multi-megabyte body needs more than DynamoDB's 1.5 s per attempt, so S3's request timeout is
 * longer. The endpoint comes from AWS_ENDPOINT_URL_S3 when set (the local stack sets it, and its
 * S3 is addressed by path).
 */
export function createS3Client(config: S3ClientConfig = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 500, requestTimeout: 2500, throwOnRequestTimeout: true },
    ...(env.AWS_ENDPOINT_URL_S3 ? { forcePathStyle: true } : {}),
    ...config,
  });
}

export class S3PayloadObjects implements PayloadObjects {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: "application/octet-stream" }));
    } catch (error) {
      if (isStorageUnavailable(error)) throw new PayloadObjectWriteError(key, error);
      throw error;
    }
  }

  async get(key: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    let output;
    try {
      output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isMissingObject(error)) throw new PayloadObjectUnreadableError(key, "missing", "is not there (or not readable under events/)");
      throw error;
    }
    if (!output.Body) throw new Error(`payload object ${key} has no body`);
    if (options.maxBytes !== undefined && (output.ContentLength ?? 0) > options.maxBytes) {
      (output.Body as { destroy?: () => void }).destroy?.();
      throw new PayloadObjectUnreadableError(key, "too_large", `is ${output.ContentLength} bytes; at most ${options.maxBytes} were expected`);
    }
    return output.Body.transformToByteArray();
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

/** The claim check of a deployed function (PAYLOAD_BUCKET_NAME), once per cold start; undefined without a bucket. */
export function payloadObjectsFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadObjects | undefined {
  const bucket = env[ENV.payloadBucket];
  return bucket ? new S3PayloadObjects(createS3Client({}, env), bucket) : undefined;
}
