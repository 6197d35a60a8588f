/**
 * IngestQueue (ingestMode `queued`): the ingest queue, its dead-letter queue, and the processor
 * that drains it into the events table.
 *
 *   ingest λ ──SendMessage(Batch)──▶ ingest queue ──event source mapping──▶ processor λ ──▶ events table
 *                                         └──(maxReceiveCount receives)──▶ DLQ ──(npm run redrive)──▶ ingest queue
 *
 * Both queues: SSE-SQS encryption at rest, a policy that denies any request not made over TLS.
 * The ingest queue keeps messages 4 days and hides a received message for at least 6× the
 * processor's timeout plus the batching window (AWS's guidance for Lambda event sources), so a
 * batch still being processed is never handed to a second invocation. The DLQ keeps messages 14
 * days and accepts them only from this ingest queue (redrive allow policy). The processor's role
 * may receive, delete and change the visibility of ingest-queue messages and put/get items in the
 * events table; nothing in the stack may touch the DLQ except SQS's own redrive and an operator
 * running `npm run redrive` with their credentials (docs/OPERATIONS.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AWS_LIMITS } from "../handlers/lib/primitives/limits";
import { ENV } from "../handlers/lib/primitives/tables";
import { INGEST_QUEUE, ingestQueueVisibilitySeconds, PROCESSOR_HANDLER, type IngestQueueAction } from "../handlers/routes";
import type { EventStore } from "./EventStore";
import { createHandlerFunction, type FunctionArgs, type GrantStatement, type HandlerFunction, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

export const INGEST_QUEUE_RETENTION_SECONDS = INGEST_QUEUE.retentionSeconds;
export const DEAD_LETTER_RETENTION_SECONDS = INGEST_QUEUE.deadLetterRetentionSeconds;

export interface IngestQueueArgs {
  /** The table the processor writes to. */
  eventStore: EventStore;
  /** Largest accepted event body in UTF-8 bytes (the processor checks records against the same limits). @default 65536 */
  maxEventBytes?: number;
  /** Largest accepted webhook body (the processor checks webhook events against it). @default maxEventBytes */
  maxWebhookBytes?: number;
  /**
   * Receives of one message before SQS moves it to the dead-letter queue, 1..1000. At least 5 is
   * AWS's guidance for a queue that feeds Lambda: a receive the poller could not hand to a
   * throttled function still counts.
   * @default 5
   */
  maxReceiveCount?: number;
  /**
   * Messages per processor invocation, 1..10000 (above 10 needs a batching window of at least 1 s).
   * @default 10
   */
  batchSize?: number;
  /**
   * Seconds Lambda gathers messages before invoking the processor with less than a full batch, 0..300.
   * @default 1
   */
  batchingWindowSeconds?: number;
  /**
   * Most processor invocations at once (the event source mapping's `scalingConfig.maximumConcurrency`,
   * 2..1000), so a backlog drains at a rate the table absorbs instead of throttling it.
   * @default 5
   */
  maximumConcurrency?: number;
  /** The processor's timeout in seconds; the visibility timeout follows from it. @default 30 */
  processorTimeoutSeconds?: number;
  /** @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the processor's log group (config
   * logEncryption: index.ts passes `LogEncryptionKey.keyArn`).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** @default false */
  tracing?: boolean;
  transform?: FunctionArgs["transform"] & {
    queue?: Transform<aws.sqs.QueueArgs>;
    deadLetterQueue?: Transform<aws.sqs.QueueArgs>;
    eventSourceMapping?: Transform<aws.lambda.EventSourceMappingArgs>;
  };
}

export class IngestQueue extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly processor: HandlerFunction;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  readonly queueUrl: pulumi.Output<string>;
  readonly queueArn: pulumi.Output<string>;
  readonly deadLetterQueueUrl: pulumi.Output<string>;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;

  constructor(name: string, args: IngestQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:IngestQueue", name, {}, opts);
    const settings = normalize(args);
    this.maxReceiveCount = settings.maxReceiveCount;
    this.visibilityTimeoutSeconds = settings.visibilityTimeoutSeconds;

    this.deadLetterQueue = createDeadLetterQueue(this);
    this.queue = createQueue(this);
    allowRedriveFromQueue(this);
    requireSecureTransport(this, "queue", this.queue);
    requireSecureTransport(this, "dlq", this.deadLetterQueue);
    this.queueUrl = this.queue.url;
    this.queueArn = this.queue.arn;
    this.deadLetterQueueUrl = this.deadLetterQueue.url;
    this.processor = createProcessor(this);
    this.eventSourceMapping = createEventSourceMapping(this);

    this.registerOutputs({ queueUrl: this.queueUrl, deadLetterQueueUrl: this.deadLetterQueueUrl, processorName: this.processor.function.name });

    function createDeadLetterQueue(parent: IngestQueue): aws.sqs.Queue {
      return new aws.sqs.Queue(
        `${name}-dlq`,
        applyTransform<aws.sqs.QueueArgs>(
          {
            name: physicalName("ingest-dlq", "sqsQueue"),
            messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
            // Redrive moves messages unchanged: the DLQ takes what the queue takes.
            maxMessageSize: AWS_LIMITS.sqsMessageBytes,
            sqsManagedSseEnabled: true,
          },
          args.transform?.deadLetterQueue,
        ),
        { parent },
      );
    }

    function createQueue(parent: IngestQueue): aws.sqs.Queue {
      return new aws.sqs.Queue(
        `${name}-queue`,
        applyTransform<aws.sqs.QueueArgs>(
          {
            name: physicalName("ingest", "sqsQueue"),
            messageRetentionSeconds: INGEST_QUEUE_RETENTION_SECONDS,
            visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
            // SQS takes 1 MiB bodies only when the queue says so; the attribute defaults to 256 KiB.
            maxMessageSize: AWS_LIMITS.sqsMessageBytes,
            sqsManagedSseEnabled: true,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: parent.deadLetterQueue.arn, maxReceiveCount: settings.maxReceiveCount }),
          },
          args.transform?.queue,
        ),
        { parent },
      );
    }

    /** A separate resource: the DLQ's policy names the ingest queue, whose redrive policy names the DLQ. */
    function allowRedriveFromQueue(parent: IngestQueue): void {
      new aws.sqs.RedriveAllowPolicy(
        `${name}-dlq-redrive-allow`,
        {
          queueUrl: parent.deadLetterQueue.url,
          redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [parent.queue.arn] }),
        },
        { parent },
      );
    }

    function requireSecureTransport(parent: IngestQueue, slug: string, queue: aws.sqs.Queue): void {
      new aws.sqs.QueuePolicy(
        `${name}-${slug}-policy`,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:*",
                Resource: queue.arn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        },
        { parent },
      );
    }

    function createProcessor(parent: IngestQueue): HandlerFunction {
      return createHandlerFunction(
        `${name}-processor`,
        {
          entry: PROCESSOR_HANDLER.entry,
          purpose: "processor",
          description: PROCESSOR_HANDLER.description,
          environment: {
            ...args.eventStore.functionEnvironment(settings.maxEventBytes),
            [ENV.ingestQueueUrl]: parent.queue.url,
            ...(settings.maxWebhookBytes === undefined ? {} : { [ENV.maxWebhookBytes]: String(settings.maxWebhookBytes) }),
          },
          grants: [
            ...args.eventStore.grant(PROCESSOR_HANDLER.eventsTableActions),
            ...args.eventStore.grantPayloadObjects(PROCESSOR_HANDLER.payloadObjectActions),
            ...parent.grant(PROCESSOR_HANDLER.ingestQueueActions),
          ],
          memoryMb: PROCESSOR_HANDLER.memoryMb,
          timeoutSeconds: settings.processorTimeoutSeconds,
          logRetentionDays: args.logRetentionDays ?? 14,
          logKey: args.logKey,
          tracing: args.tracing ?? false,
          ...(args.transform ? { transform: args.transform } : {}),
        },
        parent,
      );
    }

    function createEventSourceMapping(parent: IngestQueue): aws.lambda.EventSourceMapping {
      return new aws.lambda.EventSourceMapping(
        `${name}-source`,
        applyTransform<aws.lambda.EventSourceMappingArgs>(
          {
            eventSourceArn: parent.queue.arn,
            functionName: parent.processor.function.arn,
            batchSize: settings.batchSize,
            maximumBatchingWindowInSeconds: settings.batchingWindowSeconds,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: settings.maximumConcurrency },
          },
          args.transform?.eventSourceMapping,
        ),
        // functionName references the function, which waits for its policy: the role can poll
        // the queue before Lambda validates the mapping.
        { parent },
      );
    }
  }

  /** One statement: exactly `actions` on the ingest queue; empty when `actions` is empty. */
  grant(actions: readonly IngestQueueAction[]): GrantStatement[] {
    return actions.length === 0 ? [] : [{ Effect: "Allow", Action: [...actions], Resource: [this.queue.arn] }];
  }
}

function normalize(args: IngestQueueArgs) {
  const where = "IngestQueue";
  const batchSize = requireInteger(where, "batchSize (config processorBatchSize)", args.batchSize ?? 10, 1, 10_000);
  const batchingWindowSeconds = requireInteger(where, "batchingWindowSeconds (config processorBatchingWindowSeconds)", args.batchingWindowSeconds ?? 1, 0, 300);
  if (batchSize > 10 && batchingWindowSeconds < 1) {
    throw new Error(`${where}: a batchSize above 10 (got ${batchSize}) needs batchingWindowSeconds of at least 1; raise the window or lower the batch size`);
  }
  const processorTimeoutSeconds = requireInteger(where, "processorTimeoutSeconds", args.processorTimeoutSeconds ?? PROCESSOR_HANDLER.timeoutSeconds, 1, 900);
  const visibilityTimeoutSeconds = ingestQueueVisibilitySeconds(processorTimeoutSeconds, batchingWindowSeconds);
  if (visibilityTimeoutSeconds > 43_200) {
    throw new Error(`${where}: 6 × processorTimeoutSeconds + batchingWindowSeconds must fit SQS's 12-hour visibility timeout, got ${visibilityTimeoutSeconds} s`);
  }
  return {
    maxEventBytes: requireInteger(where, "maxEventBytes", args.maxEventBytes ?? 65536, 1024, 10 * 1024 * 1024),
    maxWebhookBytes: args.maxWebhookBytes === undefined ? undefined : requireInteger(where, "maxWebhookBytes", args.maxWebhookBytes, 1024, 10 * 1024 * 1024),
    maxReceiveCount: requireInteger(where, "maxReceiveCount (config queueMaxReceiveCount)", args.maxReceiveCount ?? 5, 1, 1000),
    batchSize,
    batchingWindowSeconds,
    maximumConcurrency: requireInteger(where, "maximumConcurrency (config processorMaxConcurrency)", args.maximumConcurrency ?? 5, 2, 1000),
    processorTimeoutSeconds,
    visibilityTimeoutSeconds,
  };
}
