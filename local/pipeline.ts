/**
 * An EventPipeline on one machine. The parts that are code run as they deploy: the state machine
 * definition is the one components/pipelineDefinition.ts generates, executed by the
 * aws-local-stepfunctions interpreter; `Validate` and `Store` are the esbuild bundles; each user
 * stage is its callback as Pulumi serializes it (`stageEntry` + serializeFunction, as in the
 * deploy). The AWS plumbing around them is emulated in memory, with the semantics the design
 * relies on:
 * - the topic wraps each publication in an SNS notification envelope (MessageId, Timestamp,
 *   MessageAttributes) and hands it to the buffer;
 * - the buffer and the pipe: one message per execution (batchSize 1), an execution that fails
 *   outright is received again, and after `maxReceiveCount` receives the message moves to the
 *   failure queue as SQS's redrive policy would move it (the visibility timeout is not waited);
 * - `DeadLetter` (the state machine's SQS SendMessage) appends to the same failure queue.
 * The failure queue is kept in memory and, with `failureQueueFile` (the local stack's
 * `$DATA_DIR/pipelines/<name>-failed.json`), on disk, so it survives a restart as the ingest queue
 * does; `npm run redrive -- --pipeline <name> --list` reads it. Every message that reaches it is
 * logged (stage and error, never the message). `redrive()` sends its messages back through the buffer.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { StateMachine } from "aws-local-stepfunctions";
import { stageEntry, stageTasks, type PipelineStage, type RetryArgs } from "../components/EventPipeline";
import { OWN_STAGE_MEMORY_MB, OWN_STAGE_TIMEOUT_SECONDS, pipelineDefinition, STATE_NAMES, type StateMachineDefinition } from "../components/pipelineDefinition";
import { PIPELINE_ENV } from "../handlers/lib/pipeline/pipeline";
import type { LambdaHost, LocalFunction } from "./lambdaHost";
import { FunctionTimeoutError } from "./lambdaHost";
import { LOCAL_STACK, PROJECT } from "./config";

// aws-local-stepfunctions 3 declares Node >= 22 for one call: Promise.withResolvers in its Task
// state (the only Node 22 API in its build). Node 20 lacks it; this is the standard shape.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export const LOCAL_ACCOUNT = "000000000000";

export interface LocalPipelineOptions {
  /** The pipeline's name, as given to EventPipeline. */
  name: string;
  stages: readonly PipelineStage[];
  /** The pipeline's `retry`, as given to EventPipeline. @default its defaults */
  retry?: RetryArgs;
  host: LambdaHost;
  region: string;
  /** What the project's own stages read: the SDK's local endpoint and the event store's variables. */
  environment: Record<string, string>;
  /** Receives before the buffer moves a message to the failure queue. @default 5, as deployed */
  maxReceiveCount?: number;
  /** Wait this long before every retry instead of the definition's backoff (tests use 0). @default the definition's */
  retryIntervalMs?: number;
  /** Where the failure queue is kept across restarts (read at start, rewritten on every change). @default memory only */
  failureQueueFile?: string;
}

/** The local stack's failure queue file of pipeline `name` under `dataDir`. */
export function localFailureQueueFile(dataDir: string, name: string): string {
  return path.join(dataDir, "pipelines", `${name}-failed.json`);
}

/** The failure queue as `failureQueueFile` holds it, and how many redrives emptied it so far; empty when there is no file yet. */
export function readFailureQueue(file: string): { messages: FailedMessage[]; redrives: number } {
  if (!fs.existsSync(file)) return { messages: [], redrives: 0 };
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as { messages: FailedMessage[]; redrives?: number };
  return { messages: state.messages, redrives: state.redrives ?? 0 };
}

/** An SQS message as the pipe hands it to the state machine. */
export interface BufferedSqsMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, { stringValue: string; dataType: string }>;
  md5OfBody: string;
  eventSource: "aws:sqs";
  eventSourceARN: string;
  awsRegion: string;
}

/** A message in the failure queue: the original body and, when a stage failed, why. */
export interface FailedMessage {
  body: string;
  attributes: Record<string, string>;
}

export type MessageAttributes = Record<string, { DataType: string; StringValue: string }>;

export class LocalPipeline {
  readonly topicArn: string;
  readonly stateMachineArn: string;
  readonly definition: StateMachineDefinition;
  /** The failure queue, oldest first. */
  readonly failed: FailedMessage[] = [];
  /** Redrives so far (kept with the failure queue, so `npm run redrive` sees when the stack took its request). */
  private redrives = 0;
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: any) => Promise<any>>;
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(
    private readonly options: LocalPipelineOptions,
    functions: Map<string, { fn: LocalFunction; timeoutMs: number }>,
  ) {
    const arn = (service: string, resource: string) => `arn:aws:${service}:${options.region}:${LOCAL_ACCOUNT}:${resource}`;
    const functionArn = (purpose: string) => arn("lambda", `function:${localName(options.name, purpose)}`);
    this.topicArn = arn("sns", localName(options.name, "topic"));
    this.stateMachineArn = arn("states", `stateMachine:${localName(options.name, "machine")}`);
    this.definition = pipelineDefinition({
      validateArn: functionArn("validate"),
      stages: stageTasks(options.name, options.stages, options.retry, options.stages.map((stage) => functionArn(stage.name))),
      storeArn: functionArn("store"),
      failureQueueUrl: `http://sqs.${options.region}.localhost/${LOCAL_ACCOUNT}/${localName(options.name, "failed")}`,
    });
    this.machine = new StateMachine(this.definition as ConstructorParameters<typeof StateMachine>[0]);
    if (options.failureQueueFile) {
      const saved = readFailureQueue(options.failureQueueFile);
      this.failed.push(...saved.messages);
      this.redrives = saved.redrives;
    }
    this.handlers = { [STATE_NAMES.deadLetter]: async (input: { MessageBody: string; MessageAttributes: MessageAttributes }) => this.sendToFailureQueue(input) };
    for (const [state, { fn, timeoutMs }] of functions) this.handlers[state] = (input) => invokeAsLambda(fn, input, timeoutMs);
  }

  /** Loads the pipeline's functions into `host` and builds the state machine. */
  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const { host, name } = options;
    const functions = new Map<string, { fn: LocalFunction; timeoutMs: number }>();
    const ownEnvironment = { ...options.environment, [PIPELINE_ENV.name]: name };
    const ownTimeoutMs = OWN_STAGE_TIMEOUT_SECONDS * 1000;
    functions.set(STATE_NAMES.validate, { fn: await host.load(localName(name, "validate"), "handlers/pipelineValidate.ts", ownEnvironment, OWN_STAGE_MEMORY_MB), timeoutMs: ownTimeoutMs });
    functions.set(STATE_NAMES.store, { fn: await host.load(localName(name, "store"), "handlers/pipelineStore.ts", ownEnvironment, OWN_STAGE_MEMORY_MB), timeoutMs: ownTimeoutMs });
    for (const stage of options.stages) {
      const fn = await host.loadCode(localName(name, stage.name), "index.js", await serializedStage(stage), stageEnvironment(name, stage), stage.memoryMb ?? 256);
      functions.set(stage.name, { fn, timeoutMs: (stage.timeoutSeconds ?? 30) * 1000 });
    }
    return new LocalPipeline(options, functions);
  }

  /** SNS Publish: wraps the message in a notification envelope and delivers it; returns the MessageId. */
  publish(message: string, attributes: MessageAttributes = {}): string {
    const notification = this.notification(message, attributes);
    this.deliver(notification.body);
    return notification.messageId;
  }

  /** The SQS body SNS writes for a publication (not raw delivery). */
  notification(message: string, attributes: MessageAttributes = {}): { messageId: string; body: string } {
    const messageId = randomUUID();
    const body = JSON.stringify({
      Type: "Notification",
      MessageId: messageId,
      TopicArn: this.topicArn,
      Message: message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: "1",
      ...(Object.keys(attributes).length === 0
        ? {}
        : { MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { Type: v.DataType, Value: v.StringValue }])) }),
    });
    return { messageId, body };
  }

  /** A message arrives in the buffer; the pipe runs it through the state machine in the background. */
  deliver(body: string): void {
    const delivery = this.receiveUntilDone(body).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** One execution over a batch of buffered messages, as the pipe starts it; resolves with its output. */
  async execute(messages: BufferedSqsMessage[]): Promise<unknown> {
    const retryIntervalOverrides =
      this.options.retryIntervalMs === undefined ? undefined : Object.fromEntries(Object.keys(this.handlers).map((state) => [state, this.options.retryIntervalMs!]));
    const execution = this.machine.run(JSON.parse(JSON.stringify(messages)), {
      overrides: { taskResourceLocalHandlers: this.handlers, ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}) },
    });
    return execution.result;
  }

  /** One task's function, invoked as the state machine invokes it (the bench times each stage with this). */
  invokeTask(state: string, input: unknown): Promise<any> {
    const task = this.handlers[state];
    if (!task) throw new Error(`no task state "${state}"; the tasks are ${Object.keys(this.handlers).join(", ")}`);
    return task(input);
  }

  /** Resolves when every delivered message has been stored or has reached the failure queue. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Sends every message of the failure queue back through the buffer (SQS's redrive); returns how many. */
  redrive(): number {
    const messages = this.failed.splice(0);
    this.redrives += 1;
    this.persistFailures();
    for (const message of messages) this.deliver(message.body);
    return messages.length;
  }

  /** A message reaches the failure queue: kept (on disk too), and one log line with where and why. */
  private addFailure(message: FailedMessage): void {
    this.failed.push(message);
    this.persistFailures();
    let snsMessageId: string | undefined;
    try {
      snsMessageId = (JSON.parse(message.body) as { MessageId?: unknown }).MessageId as string | undefined;
    } catch {
      snsMessageId = undefined;
    }
    process.stdout.write(
      JSON.stringify({
        timestamp: new Date().toISOString(),
        level: "ERROR",
        message: "pipeline message failed; it is in the failure queue",
        pipeline: this.options.name,
        failed_stage: message.attributes.failed_stage ?? "(execution failed on every receive)",
        error: message.attributes.error ?? "ExecutionFailed",
        ...(typeof snsMessageId === "string" ? { message_id: snsMessageId } : {}),
        failure_queue_depth: this.failed.length,
        see: `npm run redrive -- --pipeline ${this.options.name} --list`,
      }) + "\n",
    );
  }

  private persistFailures(): void {
    const file = this.options.failureQueueFile;
    if (!file) return;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify({ messages: this.failed, redrives: this.redrives }) + "\n", { mode: 0o600 });
    fs.renameSync(temporary, file);
  }

  private async receiveUntilDone(body: string): Promise<void> {
    const maxReceiveCount = this.options.maxReceiveCount ?? 5;
    const messageId = randomUUID();
    for (let receive = 1; receive <= maxReceiveCount; receive++) {
      try {
        await this.execute([this.sqsMessage(messageId, body, receive)]);
        return;
      } catch {
        // The execution failed outright: the pipe does not delete the message, SQS shows it again.
      }
    }
    this.addFailure({ body, attributes: {} });
  }

  private sqsMessage(messageId: string, body: string, receiveCount: number): BufferedSqsMessage {
    return {
      messageId,
      receiptHandle: randomUUID(),
      body,
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:${this.options.region}:${LOCAL_ACCOUNT}:${localName(this.options.name, "buffer")}`,
      awsRegion: this.options.region,
    };
  }

  /** SQS SendMessage as the state machine calls it; refuses what SQS refuses (an empty attribute). */
  private async sendToFailureQueue(input: { MessageBody: string; MessageAttributes: MessageAttributes }): Promise<{ MessageId: string }> {
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(input.MessageAttributes)) {
      if (!value.StringValue) throw Object.assign(new Error(`message attribute ${name} must not be empty`), { name: "Sqs.InvalidParameterValueException" });
      attributes[name] = value.StringValue;
    }
    this.addFailure({ body: input.MessageBody, attributes });
    return { MessageId: randomUUID() };
  }
}

/** `${project}-local-${pipeline}-${purpose}`, the deploy's naming rule on the local stack. */
function localName(pipeline: string, purpose: string): string {
  return `${PROJECT}-${LOCAL_STACK}-${pipeline}-${purpose}`;
}

/** The stage module exactly as the deploy serializes it (EventPipeline → serializedCallback). */
async function serializedStage(stage: PipelineStage): Promise<string> {
  const entry = stageEntry(stage.handler);
  return (await pulumi.runtime.serializeFunction(entry.factory, { exportName: "handler", isFactoryFunction: true })).text;
}

function stageEnvironment(pipeline: string, stage: PipelineStage): Record<string, string> {
  const environment: Record<string, string> = { [PIPELINE_ENV.name]: pipeline };
  for (const [key, value] of Object.entries(stage.environment ?? {})) {
    if (typeof value !== "string") throw new Error(`local pipeline: stage "${stage.name}" environment ${key} is not a plain string; the local stack cannot resolve Pulumi outputs`);
    environment[key] = value;
  }
  return environment;
}

/**
 * Invokes a function as Step Functions invokes a Lambda task: the input and the result cross as
 * JSON, and a thrown error becomes a task error named by its `name` (Lambda's errorType) whose
 * cause is Lambda's error document.
 */
async function invokeAsLambda(fn: LocalFunction, input: unknown, timeoutMs: number): Promise<unknown> {
  try {
    const result = await fn.invoke(JSON.parse(JSON.stringify(input)), timeoutMs);
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const errorType = e instanceof FunctionTimeoutError ? "Sandbox.Timedout" : e.name || "Error";
    throw Object.assign(new Error(JSON.stringify({ errorType, errorMessage: e.message, trace: [] })), { name: errorType });
  }
}
