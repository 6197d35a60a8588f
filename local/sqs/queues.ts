/**
 * The local SQS's queues and their semantics, without HTTP: standard queues with a visibility
 * timeout, ApproximateReceiveCount, retention, redrive to a dead-letter queue when a message is
 * received again after maxReceiveCount receives, and message move tasks back out of a DLQ.
 *
 * State survives a restart: every change is appended to a journal under the data directory
 * (`sqs/journal.ndjson`, one JSON line per operation, written before the caller is answered), which
 * is replayed and compacted on the next start. A message received before a restart stays invisible
 * until its visibility timeout ends, as in SQS.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { AWS_LIMITS } from "../../handlers/lib/primitives/limits";

export const LOCAL_ACCOUNT = "000000000000";
export const SQS_LIMITS = {
  maxBatchEntries: 10,
  /** One message body, and a batch's bodies together. */
  maxMessageBytes: AWS_LIMITS.sqsMessageBytes,
  maxVisibilityTimeoutSeconds: 43_200,
  maxWaitSeconds: 20,
} as const;

/**
 * The largest request body the local SQS reads. A full batch of maxMessageBytes, JSON-encoded: the
 * characters SQS accepts grow at most 2× in JSON (`\t`, `\n`, `\r`, `"`, `\\`), plus 64 KiB for the
 * rest of the request. Anything larger is refused before it is buffered.
 */
export const LOCAL_SQS_MAX_REQUEST_BYTES = 2 * SQS_LIMITS.maxMessageBytes + 64 * 1024;

export class SqsError extends Error {
  constructor(
    /** The JSON protocol's error shape, e.g. `QueueDoesNotExist`. */
    readonly type: string,
    /** The query-compatible code in `x-amzn-query-error`, e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

const invalidParameter = (message: string) => new SqsError("InvalidParameterValueException", "InvalidParameterValue", message);

export interface QueueAttributes {
  VisibilityTimeout: number;
  MessageRetentionPeriod: number;
  /** `{deadLetterTargetArn, maxReceiveCount}` as SQS stores it (a JSON string). */
  RedrivePolicy?: string;
  DelaySeconds: number;
}

export interface Message {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receiptHandle?: string;
  /** Set when SQS moved it to a DLQ: the queue it came from (where a move task returns it). */
  deadLetterSourceArn?: string;
}

export interface Queue {
  name: string;
  arn: string;
  createdAt: number;
  attributes: QueueAttributes;
  /** In send order. */
  messages: Map<string, Message>;
}

export interface MoveTask {
  taskHandle: string;
  sourceArn: string;
  destinationArn?: string;
  status: "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED";
  startedAt: number;
  moved: number;
  toMove: number;
}

type JournalEntry =
  | { op: "create"; name: string; createdAt: number; attributes: QueueAttributes }
  | { op: "attributes"; name: string; attributes: QueueAttributes }
  | { op: "send"; name: string; message: Message }
  | { op: "update"; name: string; id: string; visibleAt: number; receiveCount: number; firstReceiveAt?: number; receiptHandle?: string }
  | { op: "delete"; name: string; id: string }
  | { op: "task"; task: MoveTask };

export interface QueueStoreOptions {
  region: string;
  /** Folder for the journal; undefined keeps everything in memory. */
  dataDir?: string;
  now?: () => number;
}

export class QueueStore {
  readonly queues = new Map<string, Queue>();
  readonly tasks: MoveTask[] = [];
  private readonly journalFile: string | undefined;
  /** Kept open: one write per change instead of an open, a write and a close. */
  private journal: number | undefined;
  private readonly now: () => number;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: QueueStoreOptions) {
    this.now = options.now ?? Date.now;
    this.journalFile = options.dataDir === undefined ? undefined : path.join(options.dataDir, "journal.ndjson");
    if (this.journalFile) {
      fs.mkdirSync(path.dirname(this.journalFile), { recursive: true });
      this.replay();
      this.journal = fs.openSync(this.journalFile, "a", 0o600);
    }
  }

  /** Closes the journal (every change is already written to it). */
  close(): void {
    if (this.journal !== undefined) fs.closeSync(this.journal);
    this.journal = undefined;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.options.region}:${LOCAL_ACCOUNT}:${name}`;
  }

  createQueue(name: string, attributes: Partial<QueueAttributes> = {}): Queue {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw invalidParameter(`queue name must be 1 to 80 letters, digits, - or _: ${name}`);
    const existing = this.queues.get(name);
    const merged: QueueAttributes = { VisibilityTimeout: 30, MessageRetentionPeriod: 345_600, DelaySeconds: 0, ...attributes };
    validateAttributes(merged);
    if (existing) {
      if (JSON.stringify(existing.attributes) !== JSON.stringify(merged) && Object.keys(attributes).length > 0) {
        this.setAttributes(name, attributes);
      }
      return existing;
    }
    const queue: Queue = { name, arn: this.arnOf(name), createdAt: this.now(), attributes: merged, messages: new Map() };
    this.queues.set(name, queue);
    this.append({ op: "create", name, createdAt: queue.createdAt, attributes: merged });
    return queue;
  }

  setAttributes(name: string, attributes: Partial<QueueAttributes>): void {
    const queue = this.queue(name);
    const merged = { ...queue.attributes, ...attributes };
    validateAttributes(merged);
    queue.attributes = merged;
    this.append({ op: "attributes", name, attributes: merged });
  }

  queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new SqsError("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    return queue;
  }

  queueByArn(arn: string): Queue {
    const name = arn.split(":").pop() ?? "";
    const queue = this.queues.get(name);
    if (!queue || queue.arn !== arn) throw new SqsError("ResourceNotFoundException", "ResourceNotFoundException", `no queue with ARN ${arn}`);
    return queue;
  }

  send(name: string, body: string, delaySeconds?: number): Message {
    const queue = this.queue(name);
    validateBody(body);
    const now = this.now();
    const message: Message = {
      id: randomUUID(),
      body,
      md5: md5(body),
      sentAt: now,
      visibleAt: now + 1000 * (delaySeconds ?? queue.attributes.DelaySeconds),
      receiveCount: 0,
    };
    this.add(queue, message);
    return message;
  }

  /**
   * Up to `max` visible messages, oldest first, each now in flight for `visibilityTimeout` s with a
   * new receipt handle. A message already received maxReceiveCount times goes to the DLQ instead.
   */
  receive(name: string, max: number, visibilityTimeout?: number): Message[] {
    const queue = this.queue(name);
    const now = this.now();
    const redrive = parseRedrivePolicy(queue.attributes.RedrivePolicy);
    const timeout = visibilityTimeout ?? queue.attributes.VisibilityTimeout;
    const received: Message[] = [];
    for (const message of [...queue.messages.values()]) {
      if (received.length >= max) break;
      if (now - message.sentAt > queue.attributes.MessageRetentionPeriod * 1000) {
        this.remove(queue, message.id);
        continue;
      }
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        const dlq = this.queues.get(redrive.deadLetterTargetArn.split(":").pop() ?? "");
        if (dlq) {
          this.remove(queue, message.id);
          this.add(dlq, { ...message, visibleAt: now, receiptHandle: undefined, deadLetterSourceArn: queue.arn } as Message);
          continue;
        }
      }
      message.receiveCount += 1;
      message.firstReceiveAt ??= now;
      message.visibleAt = now + timeout * 1000;
      message.receiptHandle = Buffer.from(`${queue.name} ${message.id} ${randomBytes(8).toString("hex")}`).toString("base64url");
      this.append({ op: "update", name, id: message.id, visibleAt: message.visibleAt, receiveCount: message.receiveCount, firstReceiveAt: message.firstReceiveAt, receiptHandle: message.receiptHandle });
      received.push({ ...message });
    }
    return received;
  }

  /**
   * Deletes the message when this is its latest receipt handle. As in SQS, a handle from an
   * earlier receive of a message received again since is accepted but deletes nothing (the later
   * receiver owns it now), and a message already gone is fine.
   */
  delete(name: string, receiptHandle: string): void {
    const queue = this.queue(name);
    const id = messageIdOf(receiptHandle, name);
    const message = queue.messages.get(id);
    if (!message || message.receiptHandle !== receiptHandle) return;
    this.remove(queue, id);
  }

  changeVisibility(name: string, receiptHandle: string, visibilityTimeout: number): void {
    const queue = this.queue(name);
    if (!Number.isInteger(visibilityTimeout) || visibilityTimeout < 0 || visibilityTimeout > SQS_LIMITS.maxVisibilityTimeoutSeconds) {
      throw invalidParameter(`VisibilityTimeout must be an integer from 0 to ${SQS_LIMITS.maxVisibilityTimeoutSeconds}`);
    }
    const id = messageIdOf(receiptHandle, name);
    const message = queue.messages.get(id);
    if (!message || message.receiptHandle !== receiptHandle) throw receiptHandleInvalid(receiptHandle);
    const now = this.now();
    if (message.visibleAt <= now) throw new SqsError("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "The message is not in flight.");
    message.visibleAt = now + visibilityTimeout * 1000;
    this.append({ op: "update", name, id, visibleAt: message.visibleAt, receiveCount: message.receiveCount, ...(message.firstReceiveAt === undefined ? {} : { firstReceiveAt: message.firstReceiveAt }), receiptHandle });
    if (visibilityTimeout === 0) this.wake();
  }

  purge(name: string): void {
    const queue = this.queue(name);
    for (const id of [...queue.messages.keys()]) this.remove(queue, id);
  }

  counts(name: string): { visible: number; notVisible: number; oldestAgeSeconds: number } {
    const queue = this.queue(name);
    const now = this.now();
    let visible = 0;
    let notVisible = 0;
    let oldest = now;
    for (const message of queue.messages.values()) {
      if (message.visibleAt <= now) visible += 1;
      else notVisible += 1;
      oldest = Math.min(oldest, message.sentAt);
    }
    return { visible, notVisible, oldestAgeSeconds: Math.floor((now - oldest) / 1000) };
  }

  /**
   * Moves every message now in the DLQ `sourceArn` to `destinationArn`, or back to the queue each
   * came from. As in SQS, the source must be some queue's dead-letter queue, and moved messages
   * arrive as new messages (receive count 0).
   */
  startMoveTask(sourceArn: string, destinationArn?: string): MoveTask {
    const source = this.queueByArn(sourceArn);
    const isDeadLetterQueue = [...this.queues.values()].some((q) => parseRedrivePolicy(q.attributes.RedrivePolicy)?.deadLetterTargetArn === sourceArn);
    if (!isDeadLetterQueue) throw new SqsError("InvalidParameterValueException", "InvalidParameterValue", `${sourceArn} is not a dead-letter queue of any queue`);
    if (this.tasks.some((t) => t.sourceArn === sourceArn && t.status === "RUNNING")) {
      throw new SqsError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "a message move task is already running on this queue");
    }
    const destination = destinationArn === undefined ? undefined : this.queueByArn(destinationArn);
    const messages = [...source.messages.values()];
    const task: MoveTask = {
      taskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString("base64url"),
      sourceArn,
      ...(destinationArn === undefined ? {} : { destinationArn }),
      status: "RUNNING",
      startedAt: this.now(),
      moved: 0,
      toMove: messages.length,
    };
    for (const message of messages) {
      const target = destination ?? (message.deadLetterSourceArn ? this.queues.get(message.deadLetterSourceArn.split(":").pop() ?? "") : undefined);
      if (!target) continue; // no known origin: it stays in the DLQ
      this.remove(source, message.id);
      const now = this.now();
      this.add(target, { id: randomUUID(), body: message.body, md5: message.md5, sentAt: now, visibleAt: now, receiveCount: 0 });
      task.moved += 1;
    }
    task.status = "COMPLETED";
    this.tasks.push(task);
    this.append({ op: "task", task });
    return task;
  }

  /** Resolves when a message may have become visible (a send, a move, a visibility of 0), or after `ms`. */
  waitForMessages(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Ends every long poll now (shutdown). */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private add(queue: Queue, message: Message): void {
    queue.messages.set(message.id, message);
    this.append({ op: "send", name: queue.name, message });
    this.wake();
  }

  private remove(queue: Queue, id: string): void {
    queue.messages.delete(id);
    this.append({ op: "delete", name: queue.name, id });
  }

  private append(entry: JournalEntry): void {
    if (this.journal !== undefined) fs.writeSync(this.journal, JSON.stringify(entry) + "\n");
  }

  /** Rebuilds the state from the journal, then rewrites it as the shortest journal of that state. */
  private replay(): void {
    const file = this.journalFile!;
    if (fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue; // a line cut short by a crash: the operation was never answered
        }
        this.apply(entry);
      }
    }
    const compacted: JournalEntry[] = [];
    for (const queue of this.queues.values()) {
      compacted.push({ op: "create", name: queue.name, createdAt: queue.createdAt, attributes: queue.attributes });
      for (const message of queue.messages.values()) compacted.push({ op: "send", name: queue.name, message });
    }
    for (const task of this.tasks) compacted.push({ op: "task", task });
    const temporary = `${file}.tmp`;
    fs.writeFileSync(temporary, compacted.map((e) => JSON.stringify(e) + "\n").join(""), { mode: 0o600 });
    fs.renameSync(temporary, file);
  }

  private apply(entry: JournalEntry): void {
    switch (entry.op) {
      case "create":
        this.queues.set(entry.name, { name: entry.name, arn: this.arnOf(entry.name), createdAt: entry.createdAt, attributes: entry.attributes, messages: new Map() });
        return;
      case "attributes": {
        const queue = this.queues.get(entry.name);
        if (queue) queue.attributes = entry.attributes;
        return;
      }
      case "send":
        this.queues.get(entry.name)?.messages.set(entry.message.id, entry.message);
        return;
      case "update": {
        const message = this.queues.get(entry.name)?.messages.get(entry.id);
        if (!message) return;
        message.visibleAt = entry.visibleAt;
        message.receiveCount = entry.receiveCount;
        if (entry.firstReceiveAt !== undefined) message.firstReceiveAt = entry.firstReceiveAt;
        if (entry.receiptHandle !== undefined) message.receiptHandle = entry.receiptHandle;
        return;
      }
      case "delete":
        this.queues.get(entry.name)?.messages.delete(entry.id);
        return;
      case "task":
        this.tasks.push(entry.task);
        return;
    }
  }
}

export function parseRedrivePolicy(text: string | undefined): { deadLetterTargetArn: string; maxReceiveCount: number } | undefined {
  if (!text) return undefined;
  const policy = JSON.parse(text) as { deadLetterTargetArn?: string; maxReceiveCount?: string | number };
  if (typeof policy.deadLetterTargetArn !== "string") return undefined;
  return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount) };
}

function validateAttributes(attributes: QueueAttributes): void {
  const { VisibilityTimeout, MessageRetentionPeriod, DelaySeconds } = attributes;
  if (!Number.isInteger(VisibilityTimeout) || VisibilityTimeout < 0 || VisibilityTimeout > SQS_LIMITS.maxVisibilityTimeoutSeconds) {
    throw invalidParameter("VisibilityTimeout must be an integer from 0 to 43200");
  }
  if (!Number.isInteger(MessageRetentionPeriod) || MessageRetentionPeriod < 60 || MessageRetentionPeriod > 1_209_600) {
    throw invalidParameter("MessageRetentionPeriod must be an integer from 60 to 1209600");
  }
  if (!Number.isInteger(DelaySeconds) || DelaySeconds < 0 || DelaySeconds > 900) throw invalidParameter("DelaySeconds must be an integer from 0 to 900");
  if (attributes.RedrivePolicy !== undefined) {
    const policy = parseRedrivePolicy(attributes.RedrivePolicy);
    if (!policy || !Number.isInteger(policy.maxReceiveCount) || policy.maxReceiveCount < 1 || policy.maxReceiveCount > 1000) {
      throw invalidParameter("RedrivePolicy needs a deadLetterTargetArn and a maxReceiveCount from 1 to 1000");
    }
  }
}

/** SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF, 1 byte to 1 MiB. */
const INVALID_BODY_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function validateBody(body: string): void {
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes === 0) throw new SqsError("InvalidParameterValueException", "InvalidParameterValue", "The message body must be at least 1 byte.");
  if (bytes > SQS_LIMITS.maxMessageBytes) {
    throw invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${SQS_LIMITS.maxMessageBytes} bytes.`);
  }
  if (INVALID_BODY_CHARACTER.test(body)) {
    throw new SqsError("InvalidMessageContents", "InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  }
}

export function md5(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

function messageIdOf(receiptHandle: string, queueName: string): string {
  const [name, id] = Buffer.from(receiptHandle, "base64url").toString("utf8").split(" ");
  if (name !== queueName || !id) throw receiptHandleInvalid(receiptHandle);
  return id;
}

function receiptHandleInvalid(handle: string): SqsError {
  return new SqsError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", `The input receipt handle "${handle.slice(0, 40)}" is not a valid receipt handle.`);
}
