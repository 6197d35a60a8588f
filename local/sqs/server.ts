/**
 * The local SQS endpoint: the subset of the SQS JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`,
 * `application/x-amz-json-1.0`) that @aws-sdk/client-sqs and the AWS CLI use against this
 * project's queues. No maintained embeddable SQS for Node 20 speaks this protocol with redrive,
 * message move tasks and persistence (docs/adr/0017), so this implements exactly those actions:
 * CreateQueue, GetQueueUrl, ListQueues, GetQueueAttributes, SetQueueAttributes, SendMessage(Batch),
 * ReceiveMessage (long polling), DeleteMessage(Batch), ChangeMessageVisibility(Batch),
 * PurgeQueue, StartMessageMoveTask, ListMessageMoveTasks. Semantics live in queues.ts.
 *
 * Like the local DynamoDB it accepts any credentials, listens on a loopback address only, and
 * refuses foreign Hosts and anything a browser sent (local/localGuard.ts).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { guardLocalListener } from "../localGuard";
import { LOCAL_SQS_MAX_REQUEST_BYTES, md5, parseRedrivePolicy, QueueStore, SQS_LIMITS, SqsError, type Message, type QueueAttributes } from "./queues";
import { readCappedBody } from "../requestBody";

export interface LocalSqs {
  /** e.g. `http://127.0.0.1:9324` */
  endpoint: string;
  store: QueueStore;
  queueUrl(name: string): string;
  close(): Promise<void>;
}

export interface LocalSqsOptions {
  port: number;
  host?: string;
  region: string;
  /** Journal folder; undefined keeps the queues in memory only. */
  dataDir?: string;
}

type Input = Record<string, any>;
type Action = (input: Input) => Promise<unknown> | unknown;

export async function startLocalSqs(options: LocalSqsOptions): Promise<LocalSqs> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host)) throw new Error(`the local SQS listens on a loopback address only, got ${host}`);
  const store = new QueueStore({ region: options.region, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) });
  let endpoint = "";
  const queueUrl = (name: string) => `${endpoint}/${store.arnOf(name).split(":")[4]}/${name}`;
  const nameOf = (url: unknown): string => {
    if (typeof url !== "string" || url === "") throw new SqsError("InvalidAddress", "InvalidAddress", "QueueUrl is required");
    const name = url.split("/").pop() ?? "";
    store.queue(name); // throws QueueDoesNotExist
    return name;
  };
  const closing = new AbortController();

  const actions: Record<string, Action> = {
    CreateQueue: (input) => {
      store.createQueue(String(input.QueueName ?? ""), queueAttributes(input.Attributes ?? {}));
      return { QueueUrl: queueUrl(String(input.QueueName)) };
    },
    GetQueueUrl: (input) => {
      store.queue(String(input.QueueName ?? ""));
      return { QueueUrl: queueUrl(String(input.QueueName)) };
    },
    ListQueues: (input) => ({
      QueueUrls: [...store.queues.keys()].filter((n) => n.startsWith(String(input.QueueNamePrefix ?? ""))).map(queueUrl),
    }),
    GetQueueAttributes: (input) => {
      const name = nameOf(input.QueueUrl);
      const queue = store.queue(name);
      const counts = store.counts(name);
      const all: Record<string, string> = {
        QueueArn: queue.arn,
        ApproximateNumberOfMessages: String(counts.visible),
        ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
        ApproximateNumberOfMessagesDelayed: "0",
        VisibilityTimeout: String(queue.attributes.VisibilityTimeout),
        MessageRetentionPeriod: String(queue.attributes.MessageRetentionPeriod),
        DelaySeconds: String(queue.attributes.DelaySeconds),
        MaximumMessageSize: String(SQS_LIMITS.maxMessageBytes),
        CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
        SqsManagedSseEnabled: "true",
        ...(queue.attributes.RedrivePolicy ? { RedrivePolicy: queue.attributes.RedrivePolicy } : {}),
      };
      const wanted: string[] = input.AttributeNames ?? [];
      const attributes = wanted.includes("All") ? all : Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k)));
      return { Attributes: attributes };
    },
    SetQueueAttributes: (input) => {
      store.setAttributes(nameOf(input.QueueUrl), queueAttributes(input.Attributes ?? {}));
      return {};
    },
    SendMessage: (input) => {
      const message = store.send(nameOf(input.QueueUrl), String(input.MessageBody ?? ""), input.DelaySeconds);
      return { MessageId: message.id, MD5OfMessageBody: message.md5 };
    },
    SendMessageBatch: (input) => {
      const name = nameOf(input.QueueUrl);
      const entries = checkBatch(input.Entries);
      const total = entries.reduce((sum, e) => sum + Buffer.byteLength(String(e.MessageBody ?? ""), "utf8"), 0);
      if (total > SQS_LIMITS.maxMessageBytes) {
        throw new SqsError("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", `Batch requests cannot be longer than ${SQS_LIMITS.maxMessageBytes} bytes.`);
      }
      return perEntry(entries, (entry) => {
        const message = store.send(name, String(entry.MessageBody ?? ""), entry.DelaySeconds);
        return { MessageId: message.id, MD5OfMessageBody: message.md5 };
      });
    },
    ReceiveMessage: async (input) => {
      const name = nameOf(input.QueueUrl);
      const max = input.MaxNumberOfMessages ?? 1;
      if (!Number.isInteger(max) || max < 1 || max > SQS_LIMITS.maxBatchEntries) {
        throw new SqsError("InvalidParameterValueException", "InvalidParameterValue", "MaxNumberOfMessages must be an integer from 1 to 10.");
      }
      const waitSeconds = input.WaitTimeSeconds ?? 0;
      if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > SQS_LIMITS.maxWaitSeconds) {
        throw new SqsError("InvalidParameterValueException", "InvalidParameterValue", `WaitTimeSeconds must be an integer from 0 to ${SQS_LIMITS.maxWaitSeconds}.`);
      }
      const visibility = input.VisibilityTimeout;
      if (visibility !== undefined && (!Number.isInteger(visibility) || visibility < 0 || visibility > SQS_LIMITS.maxVisibilityTimeoutSeconds)) {
        throw new SqsError("InvalidParameterValueException", "InvalidParameterValue", `VisibilityTimeout must be an integer from 0 to ${SQS_LIMITS.maxVisibilityTimeoutSeconds}.`);
      }
      const deadline = Date.now() + waitSeconds * 1000;
      let messages = store.receive(name, max, input.VisibilityTimeout);
      while (messages.length === 0 && Date.now() < deadline && !closing.signal.aborted) {
        await store.waitForMessages(Math.min(deadline - Date.now(), 250));
        messages = store.receive(name, max, input.VisibilityTimeout);
      }
      const wanted = new Set<string>([...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])]);
      return { Messages: messages.map((m) => outputMessage(m, wanted)) };
    },
    DeleteMessage: (input) => {
      store.delete(nameOf(input.QueueUrl), String(input.ReceiptHandle ?? ""));
      return {};
    },
    DeleteMessageBatch: (input) => {
      const name = nameOf(input.QueueUrl);
      return perEntry(checkBatch(input.Entries), (entry) => {
        store.delete(name, String(entry.ReceiptHandle ?? ""));
        return {};
      });
    },
    ChangeMessageVisibility: (input) => {
      store.changeVisibility(nameOf(input.QueueUrl), String(input.ReceiptHandle ?? ""), input.VisibilityTimeout);
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const name = nameOf(input.QueueUrl);
      return perEntry(checkBatch(input.Entries), (entry) => {
        store.changeVisibility(name, String(entry.ReceiptHandle ?? ""), entry.VisibilityTimeout);
        return {};
      });
    },
    PurgeQueue: (input) => {
      store.purge(nameOf(input.QueueUrl));
      return {};
    },
    StartMessageMoveTask: (input) => {
      const task = store.startMoveTask(String(input.SourceArn ?? ""), input.DestinationArn);
      return { TaskHandle: task.taskHandle };
    },
    ListMessageMoveTasks: (input) => {
      const sourceArn = String(input.SourceArn ?? "");
      store.queueByArn(sourceArn);
      const max = Math.min(Number(input.MaxResults ?? 1), 10);
      const tasks = store.tasks.filter((t) => t.sourceArn === sourceArn).slice(-max).reverse();
      return {
        Results: tasks.map((t) => ({
          ...(t.status === "RUNNING" ? { TaskHandle: t.taskHandle } : {}),
          Status: t.status,
          SourceArn: t.sourceArn,
          ...(t.destinationArn ? { DestinationArn: t.destinationArn } : {}),
          ApproximateNumberOfMessagesMoved: t.moved,
          ApproximateNumberOfMessagesToMove: t.toMove,
          StartedTimestamp: t.startedAt,
        })),
      };
    },
  };

  const server = http.createServer((request, response) => {
    void (async () => {
      const read = await readCappedBody(request, LOCAL_SQS_MAX_REQUEST_BYTES);
      if (!read.ok && read.reason === "aborted") return;
      const { status, headers, body } = read.ok
        ? await handle(request, read.body.toString("utf8"))
        : errorAnswer(new SqsError("RequestEntityTooLarge", "RequestEntityTooLarge", `The request body is larger than ${LOCAL_SQS_MAX_REQUEST_BYTES} bytes.`, 413), { connection: "close" });
      response.writeHead(status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": crypto.randomUUID(), ...headers });
      response.end(body);
    })().catch(() => response.destroy()); // a client gone mid-answer: drop the socket, keep serving
  });

  guardLocalListener(server, { refuseBrowsers: true });

  async function handle(request: http.IncomingMessage, text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    try {
      const target = String(request.headers["x-amz-target"] ?? "");
      const action = target.startsWith("AmazonSQS.") ? actions[target.slice("AmazonSQS.".length)] : undefined;
      if (request.method !== "POST" || !action) {
        throw new SqsError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", `unsupported operation ${target || request.method} (this local SQS speaks the JSON protocol)`);
      }
      let input: unknown;
      try {
        input = text === "" ? {} : JSON.parse(text);
      } catch {
        input = undefined;
      }
      // As SQS answers a body its JSON protocol cannot read: 400, never the parser's own text.
      if (input === null || typeof input !== "object" || Array.isArray(input)) {
        throw new SqsError("SerializationException", "SerializationException", "The request body is not a JSON object.");
      }
      return { status: 200, headers: {}, body: JSON.stringify(await action(input as Input)) };
    } catch (error) {
      return errorAnswer(asSqsError(error));
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(`port ${options.port} on ${host} is already in use; set SQS_PORT to another port`) : error);
    server.once("error", onError);
    server.listen(options.port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  endpoint = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    store,
    queueUrl,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        store.wake();
        server.close(() => {
          store.close();
          resolve();
        });
        server.closeAllConnections?.();
      }),
  };
}

/**
 * The error a client sees. A field of the wrong type (a TypeError inside an action) is the
 * caller's mistake: 400 InvalidParameterValue. Anything else is an InternalError whose text stays
 * in this process's stderr; the JS error text never goes on the wire.
 */
function asSqsError(error: unknown): SqsError {
  if (error instanceof SqsError) return error;
  if (error instanceof TypeError) return new SqsError("InvalidParameterValueException", "InvalidParameterValue", "A parameter has a value of the wrong type.");
  process.stderr.write(`local SQS: internal error: ${String((error as Error)?.stack ?? error)}\n`);
  return new SqsError("InternalError", "InternalError", "We encountered an internal error. Please try again.", 500);
}

function errorAnswer(e: SqsError, extraHeaders: Record<string, string> = {}): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: e.status,
    headers: { "x-amzn-query-error": `${e.queryCode};${e.status >= 500 ? "Receiver" : "Sender"}`, ...extraHeaders },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${e.type}`, message: e.message }),
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Batch entries: 1 to 10, distinct ids. */
function checkBatch(entries: unknown): Input[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request.");
  }
  if (entries.length > SQS_LIMITS.maxBatchEntries) {
    throw new SqsError("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", `Maximum number of entries per request are ${SQS_LIMITS.maxBatchEntries}.`);
  }
  const ids = entries.map((e: Input) => String(e.Id ?? ""));
  if (new Set(ids).size !== ids.length) {
    throw new SqsError("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.");
  }
  if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id))) {
    throw new SqsError("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores, up to 80.");
  }
  return entries as Input[];
}

/** Runs `fn` per entry: `Successful` with its output, or `Failed` with the error's code. */
function perEntry(entries: Input[], fn: (entry: Input) => Record<string, unknown>) {
  const Successful: Record<string, unknown>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...fn(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, Code: error.type, Message: error.message, SenderFault: error.status < 500 });
    }
  }
  return { Successful, Failed };
}

function queueAttributes(input: Record<string, string>): Partial<QueueAttributes> {
  const result: Partial<QueueAttributes> = {};
  if (input.VisibilityTimeout !== undefined) result.VisibilityTimeout = Number(input.VisibilityTimeout);
  if (input.MessageRetentionPeriod !== undefined) result.MessageRetentionPeriod = Number(input.MessageRetentionPeriod);
  if (input.DelaySeconds !== undefined) result.DelaySeconds = Number(input.DelaySeconds);
  if (input.RedrivePolicy !== undefined) {
    const policy = parseRedrivePolicy(input.RedrivePolicy);
    result.RedrivePolicy = policy ? JSON.stringify(policy) : input.RedrivePolicy;
  }
  return result;
}

function outputMessage(message: Message, wanted: Set<string>) {
  const all: Record<string, string> = {
    ApproximateReceiveCount: String(message.receiveCount),
    SentTimestamp: String(message.sentAt),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    SenderId: "LOCAL",
    ...(message.deadLetterSourceArn ? { DeadLetterQueueSourceArn: message.deadLetterSourceArn } : {}),
  };
  const attributes = wanted.has("All") ? all : Object.fromEntries(Object.entries(all).filter(([k]) => wanted.has(k)));
  return {
    MessageId: message.id,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: md5(message.body),
    Body: message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
  };
}
