/**
 * Sending enriched records to the ingest queue (queued mode). Sends made in the same run of
 * microtasks (the items of one POST /events/batch) leave together as SendMessageBatch calls of at
 * most 10 messages and SQS's 1 MiB; a single event leaves as one SendMessage. Each send settles on its
 * own: a batch entry SQS refused fails alone, and says that it was not queued.
 */
import { SendMessageBatchCommand, SendMessageCommand, SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { errorName, QueueSendError } from "../primitives/faults";
import { QUEUE_MESSAGE_MAX_BYTES } from "./queueMessage";

/** SQS's limit on entries per SendMessageBatch. */
export const QUEUE_BATCH_MAX_MESSAGES = 10;

/**
 * Like the DynamoDB client: three attempts with short timeouts, so the worst case ends well inside
 * the ingest function's 10 s and the client gets a 503 rather than a Lambda timeout. The endpoint
 * comes from AWS_ENDPOINT_URL_SQS when set (the local stack sets it).
 */
export const SQS_CLIENT_DEFAULTS: SQSClientConfig = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true },
};

export function createSqsClient(config: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ ...SQS_CLIENT_DEFAULTS, ...config });
}

interface PendingSend {
  body: string;
  bytes: number;
  resolve(): void;
  reject(error: QueueSendError): void;
}

export class QueueSender {
  private pending: PendingSend[] = [];

  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  /** Resolves once SQS has stored the message durably; rejects with a QueueSendError otherwise. */
  send(body: string): Promise<void> {
    const bytes = Buffer.byteLength(body, "utf8");
    if (bytes > QUEUE_MESSAGE_MAX_BYTES) {
      return Promise.reject(new QueueSendError(`message of ${bytes} bytes exceeds SQS's ${QUEUE_MESSAGE_MAX_BYTES}`, false, "message_too_large"));
    }
    return new Promise((resolve, reject) => {
      // A microtask, not setImmediate: the items of one batch request all reach send() in the
      // same run of microtasks, and a single event leaves without waiting for a turn of the loop.
      if (this.pending.length === 0) queueMicrotask(() => void this.flush());
      this.pending.push({ body, bytes, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const sends = this.pending;
    this.pending = [];
    await Promise.all(chunks(sends).map((chunk) => (chunk.length === 1 ? this.sendOne(chunk[0]!) : this.sendBatch(chunk))));
  }

  private async sendOne(send: PendingSend): Promise<void> {
    try {
      await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: send.body }));
      send.resolve();
    } catch (error) {
      send.reject(asSendError(error));
    }
  }

  private async sendBatch(chunk: PendingSend[]): Promise<void> {
    try {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map((send, i) => ({ Id: String(i), MessageBody: send.body })) }),
      );
      const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
      const succeeded = new Set((result.Successful ?? []).map((s) => s.Id));
      chunk.forEach((send, i) => {
        const failure = failed.get(String(i));
        if (failure) send.reject(new QueueSendError(`SQS refused the message: ${failure.Code ?? "unknown"}`, false, failure.Code ?? "unknown"));
        else if (succeeded.has(String(i))) send.resolve();
        // Neither listed: SQS's answer is incomplete, so the message's fate is unknown.
        else send.reject(new QueueSendError("SQS did not report this message", true, "unreported"));
      });
    } catch (error) {
      const sendError = asSendError(error);
      for (const send of chunk) send.reject(sendError);
    }
  }
}

/** Consecutive groups of at most 10 messages and QUEUE_MESSAGE_MAX_BYTES of bodies. */
function chunks(sends: PendingSend[]): PendingSend[][] {
  const result: PendingSend[][] = [];
  let current: PendingSend[] = [];
  let bytes = 0;
  for (const send of sends) {
    if (current.length === QUEUE_BATCH_MAX_MESSAGES || bytes + send.bytes > QUEUE_MESSAGE_MAX_BYTES) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(send);
    bytes += send.bytes;
  }
  if (current.length > 0) result.push(current);
  return result;
}

function asSendError(error: unknown): QueueSendError {
  const name = errorName(error) ?? "Error";
  return new QueueSendError(`SQS request failed: ${name}`, !isKnownRefusal(error), name);
}

/** Refusals after which SQS certainly stored nothing: throttling, a refused connection, a 4xx. */
function isKnownRefusal(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  if (["RequestThrottled", "ThrottlingException", "KmsThrottled", "OverLimit"].includes(e.name ?? "")) return true;
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(e.code ?? "")) return true;
  const status = e.$metadata?.httpStatusCode ?? 0;
  return status >= 400 && status < 500;
}
