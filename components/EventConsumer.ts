/**
 * EventConsumer: an inline Lambda callback (a Pulumi "magic function") that receives each new
 * event from the events table's stream. Create one with `EventStore.onEvent`.
 *
 * Its code is the callback itself, serialized by Pulumi at deploy time (nothing from
 * node_modules is packaged: a callback may use Node.js built-ins and the AWS SDK v3 that
 * Lambda's Node.js runtime provides; see docs/adr/0011). Its role may read this one stream,
 * send failed batches to its own dead-letter queue, write its own logs, and do what `grants`
 * adds; never the full-access managed policies `aws.lambda.CallbackFunction` attaches by default.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createFunction, type FunctionArgs, type GrantStatement, type HandlerFunction, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

/** The stream actions Lambda's poller needs, all on the stream ARN (not the table). */
export const STREAM_READ_ACTIONS = [
  "dynamodb:DescribeStream",
  "dynamodb:GetRecords",
  "dynamodb:GetShardIterator",
  "dynamodb:ListStreams",
] as const;

/** Receives a batch of stream records; throwing retries the batch (see `maximumRetryAttempts`). */
export type EventCallback = (event: aws.dynamodb.TableEvent, context: aws.lambda.Context) => Promise<void>;

/**
 * The callback, or a factory that runs once per cold start and returns it (for clients and
 * other set-up that should outlive one invocation).
 */
export type EventConsumerHandler = EventCallback | { factory: () => EventCallback };

export interface EventConsumerOptions {
  /**
   * Records per invocation, 1..10000.
   * @default 100
   */
  batchSize?: number;
  /**
   * Where a new consumer starts reading: `"TRIM_HORIZON"` (the oldest record the stream still
   * holds, up to 24 hours back, so events written while the consumer was being created are not
   * missed) or `"LATEST"` (only records written from now on).
   * @default "TRIM_HORIZON"
   */
  startingPosition?: "TRIM_HORIZON" | "LATEST";
  /**
   * Retries of a failing batch before it goes to the dead-letter queue, 0..10000. Lambda's own
   * default (retry until the record expires) would hold up the shard for 24 hours.
   * @default 3
   */
  maximumRetryAttempts?: number;
  /**
   * On an error, split the batch in two and retry each half, so one bad record does not take its
   * neighbours to the dead-letter queue.
   * @default true
   */
  bisectBatchOnError?: boolean;
  /**
   * Send the stream coordinates of batches that still fail after the retries to an SQS queue of
   * this consumer's own (kept 14 days), to inspect and replay.
   * @default true
   */
  deadLetterQueue?: boolean;
  /** Statements the callback needs beyond reading the stream, e.g. `events:PutEvents` on one bus. @default [] */
  grants?: GrantStatement[];
  /** @default {} */
  environment?: Record<string, pulumi.Input<string>>;
  /** @default 256 */
  memoryMb?: number;
  /** @default 30 */
  timeoutSeconds?: number;
  /** @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the consumer's log group (config
   * logEncryption: index.ts passes `LogEncryptionKey.keyArn`).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** @default false */
  tracing?: boolean;
  description?: string;
  transform?: FunctionArgs["transform"] & {
    eventSourceMapping?: Transform<aws.lambda.EventSourceMappingArgs>;
    deadLetterQueue?: Transform<aws.sqs.QueueArgs>;
  };
}

export interface EventConsumerArgs extends EventConsumerOptions {
  /** The consumer's name: `[a-z][a-z0-9-]*`, at most 30 characters; part of every physical name. */
  consumerName: string;
  handler: EventConsumerHandler;
  /** The table's stream (NEW_IMAGE). */
  streamArn: pulumi.Input<string>;
  /** The table's customer managed KMS key, when it has one: reading the stream needs kms:Decrypt. */
  kmsKeyArn?: pulumi.Input<string>;
}

/** Only inserts reach a consumer of new events; the filter runs in Lambda's poller, at no cost. */
export const NEW_EVENTS_FILTER = JSON.stringify({ eventName: ["INSERT"] });

export class EventConsumer extends pulumi.ComponentResource {
  readonly consumerName: string;
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  /** Undefined when `deadLetterQueue` is false. */
  readonly deadLetterQueue: aws.sqs.Queue | undefined;

  constructor(name: string, args: EventConsumerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventConsumer", name, {}, opts);
    const settings = normalize(args);
    const purpose = `consumer-${args.consumerName}`;

    this.consumerName = args.consumerName;
    this.deadLetterQueue = settings.deadLetterQueue ? createDeadLetterQueue(this) : undefined;
    const handler = createHandler(this);
    this.function = handler.function;
    this.role = handler.role;
    this.logGroup = handler.logGroup;
    this.eventSourceMapping = createEventSourceMapping(this);

    this.registerOutputs({ functionName: this.function.name, deadLetterQueueUrl: this.deadLetterQueue?.url });

    function createDeadLetterQueue(parent: EventConsumer): aws.sqs.Queue {
      return new aws.sqs.Queue(
        `${name}-dlq`,
        applyTransform<aws.sqs.QueueArgs>(
          { name: physicalName(`${purpose}-dlq`, "sqsQueue"), messageRetentionSeconds: 14 * 86_400, sqsManagedSseEnabled: true },
          args.transform?.deadLetterQueue,
        ),
        { parent },
      );
    }

    function createHandler(parent: EventConsumer): HandlerFunction {
      const dlq = parent.deadLetterQueue;
      return createFunction(
        name,
        {
          purpose,
          description: args.description ?? `Consumer "${args.consumerName}" of new events (inline callback)`,
          code: serializedCallback(args.handler),
          handler: "index.handler",
          environment: args.environment,
          grants: [
            { Effect: "Allow", Action: [...STREAM_READ_ACTIONS], Resource: [args.streamArn] },
            ...(args.kmsKeyArn === undefined ? [] : [{ Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: [args.kmsKeyArn] }]),
            ...(dlq ? [{ Effect: "Allow" as const, Action: ["sqs:SendMessage"], Resource: [dlq.arn] }] : []),
            ...(args.grants ?? []),
          ],
          memoryMb: settings.memoryMb,
          timeoutSeconds: settings.timeoutSeconds,
          logRetentionDays: args.logRetentionDays ?? 14,
          logKey: args.logKey,
          tracing: args.tracing ?? false,
          transform: args.transform,
        },
        parent,
      );
    }

    function createEventSourceMapping(parent: EventConsumer): aws.lambda.EventSourceMapping {
      const dlq = parent.deadLetterQueue;
      return new aws.lambda.EventSourceMapping(
        `${name}-source`,
        applyTransform<aws.lambda.EventSourceMappingArgs>(
          {
            eventSourceArn: args.streamArn,
            functionName: parent.function.arn,
            startingPosition: settings.startingPosition,
            batchSize: settings.batchSize,
            maximumRetryAttempts: settings.maximumRetryAttempts,
            bisectBatchOnFunctionError: settings.bisectBatchOnError,
            filterCriteria: { filters: [{ pattern: NEW_EVENTS_FILTER }] },
            ...(dlq ? { destinationConfig: { onFailure: { destinationArn: dlq.arn } } } : {}),
          },
          args.transform?.eventSourceMapping,
        ),
        // functionName references the function, which waits for its policy: the role can read the
        // stream before Lambda validates the mapping.
        { parent },
      );
    }
  }
}

/**
 * The callback as a CommonJS module exporting `handler`: Pulumi's closure serializer captures
 * what the callback references (values, other functions, Outputs through `.get()`). Serialization
 * is asynchronous, so the archive is built from a promise, never inside an `apply`.
 */
export function serializedCallback<F extends (...args: any[]) => unknown>(handler: F | { factory: () => F }): pulumi.asset.AssetArchive {
  const isFactory = typeof handler !== "function";
  const text = pulumi.runtime
    .serializeFunction(isFactory ? handler.factory : handler, { exportName: "handler", isFactoryFunction: isFactory })
    .then((serialized) => serialized.text);
  return new pulumi.asset.AssetArchive(text.then((code) => ({ "index.js": new pulumi.asset.StringAsset(code) })));
}

function normalize(args: EventConsumerArgs) {
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(args.consumerName)) {
    throw new Error(`EventStore.onEvent: name must match [a-z][a-z0-9-]* and be at most 30 characters, got "${args.consumerName}"`);
  }
  const where = `EventStore.onEvent("${args.consumerName}")`;
  const handler = args.handler as unknown;
  const isCallable = typeof handler === "function" || (typeof handler === "object" && handler !== null && typeof (handler as { factory?: unknown }).factory === "function");
  if (!isCallable) throw new Error(`${where}: the handler must be a function or { factory: () => function }`);
  const startingPosition = args.startingPosition ?? "TRIM_HORIZON";
  if (startingPosition !== "TRIM_HORIZON" && startingPosition !== "LATEST") {
    throw new Error(`${where}: startingPosition must be "TRIM_HORIZON" or "LATEST", got ${JSON.stringify(startingPosition)}`);
  }
  return {
    batchSize: requireInteger(where, "batchSize", args.batchSize ?? 100, 1, 10_000),
    maximumRetryAttempts: requireInteger(where, "maximumRetryAttempts", args.maximumRetryAttempts ?? 3, 0, 10_000),
    memoryMb: requireInteger(where, "memoryMb", args.memoryMb ?? 256, 128, 10_240),
    timeoutSeconds: requireInteger(where, "timeoutSeconds", args.timeoutSeconds ?? 30, 1, 900),
    startingPosition,
    bisectBatchOnError: args.bisectBatchOnError ?? true,
    deadLetterQueue: args.deadLetterQueue ?? true,
  };
}
