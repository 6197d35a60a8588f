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
  get(key: string): Promise<Uint8Array>;
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

  async get(key: string): Promise<Uint8Array> {
    const output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!output.Body) throw new Error(`payload object ${key} has no body`);
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
