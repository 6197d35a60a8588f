/**
 * EventPipeline: events from other AWS systems, published to an SNS topic, run through business
 * stages written as inline Lambda callbacks, and stored with the same guarantees as POST /events.
 *
 *   SNS topic (own KMS key) → SQS buffer (its DLQ is the failure queue) → EventBridge Pipe →
 *   Step Functions Express: Validate → your stages, in order → Store
 *        └─ the subscription's own DLQ (the undelivered queue): what SNS could not put in the buffer
 *
 * `Validate` and `Store` are the project's own bundles (handlers/pipelineValidate.ts,
 * handlers/pipelineStore.ts): the strict JSON reader and schema of POST /events first, the shared
 * idempotent event writer last, keyed on the SNS message id or the `dedupe_key` attribute. A stage
 * that keeps failing sends the original message, labelled with the stage and the error, to the
 * failure queue; SQS redrive (`aws sqs start-message-move-task`, docs/OPERATIONS.md) puts it back. docs/adr/0018.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AcceptedEvent, PipelineEvent, PipelineOrigin } from "../handlers/lib/pipeline/pipeline";
import { PIPELINE_ENV, PIPELINE_ERRORS } from "../handlers/lib/pipeline/pipeline";
import { AWS_LIMITS } from "../handlers/lib/primitives/limits";
import { createKey, keyScope, topicKeyPolicy } from "./encryptionKeys";
import { serializedCallback } from "./EventConsumer";
import type { EventStore } from "./EventStore";
import { createFunction, createHandlerFunction, createLogGroup, type FunctionArgs, type GrantStatement, type HandlerFunction, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";
import { EXPRESS_MAX_SECONDS, OWN_STAGE_MEMORY_MB, OWN_STAGE_TIMEOUT_SECONDS, pipelineDefinition, type DefinitionTask, type RetrySettings } from "./pipelineDefinition";

export type { PipelineEvent, PipelineOrigin };

/** What a stage's callback gets besides the event. */
export interface StageContext {
  /** Where the event came from (pipeline, SNS message id, idempotency key); read-only. */
  origin: PipelineOrigin;
  /** The Lambda invocation context. */
  lambda: aws.lambda.Context;
}

/**
 * A stage: takes the event, returns the event the next stage gets (changed or not). Throw to fail
 * it: an error named `TransientError` (or one of `retry.errors`) is retried with backoff; any other
 * error sends the message to the failure queue.
 */
export type StageCallback = (event: PipelineEvent, context: StageContext) => Promise<PipelineEvent> | PipelineEvent;

/** The callback, or a factory that runs once per cold start and returns it (clients, tables of rates). */
export type StageHandler = StageCallback | { factory: () => StageCallback };

export interface RetryArgs {
  /**
   * Error names (a thrown error's `name`) that mean "try again later". Lambda's own service errors
   * are always retried.
   * @default ["TransientError"]
   */
  errors?: string[];
  /** Seconds before the first retry. @default 1 */
  intervalSeconds?: number;
  /** Retries after the first attempt, 0..10. @default 3 */
  maxAttempts?: number;
  /** Each wait is this many times the previous one. @default 2 */
  backoffRate?: number;
  /** The longest wait, seconds. @default 30 */
  maxDelaySeconds?: number;
  /** Full jitter: waits are random up to the backoff value, so failing executions spread out. @default true */
  jitter?: boolean;
}

export interface PipelineStage {
  /**
   * `[a-z][a-z0-9-]*`, at most 20 characters: the state's name and part of the function's
   * physical name (`${project}-${stack}-${pipeline}-${name}`).
   * @example "compute-fee"
   */
  name: string;
  /**
   * @example
   * async (event) => ({ ...event, payload: { ...event.payload, fee: Math.round(event.payload.amount * 0.029) } })
   */
  handler: StageHandler;
  /** Statements the stage's own code needs, e.g. `dynamodb:GetItem` on a rates table. @default [] */
  grants?: GrantStatement[];
  /** @default {} */
  environment?: Record<string, pulumi.Input<string>>;
  /** @default 256 */
  memoryMb?: number;
  /** @default 30 */
  timeoutSeconds?: number;
  /** Concurrency reserved for (and capping) this stage's function. @default the pipeline's `maxConcurrency` */
  reservedConcurrency?: number;
  /** This stage's retries; unset fields come from the pipeline's `retry`. @default the pipeline's `retry` */
  retry?: RetryArgs;
  description?: string;
  transform?: FunctionArgs["transform"];
}

export interface EventPipelineArgs {
  /** Where events are stored, through the same idempotent writer as POST /events. */
  store: EventStore;
  /**
   * Your stages, in order, between the project's own validation and store stages. May be empty.
   * @example
   * [{ name: "compute-fee", handler: async (event) => ({ ...event, payload: { ...event.payload, fee: 1 } }) }]
   */
  stages: PipelineStage[];
  /** Retries of transient errors in your stages. @default { errors: ["TransientError"], intervalSeconds: 1, maxAttempts: 3, backoffRate: 2, maxDelaySeconds: 30, jitter: true } */
  retry?: RetryArgs;
  /** Largest accepted SNS message, UTF-8 bytes (larger ones go to the failure queue). @default 65536 */
  maxEventBytes?: number;
  /**
   * Messages per state machine execution, 1..10. Step Functions takes at most 256 KB of input, so
   * raise it only when `batchSize × message size` stays well below that.
   * @default 1
   */
  batchSize?: number;
  /** Seconds the pipe waits to fill a batch, 0..300. @default 0 */
  maxBatchingWindowSeconds?: number;
  /**
   * Receives of a message (executions that failed outright, or throttled) before SQS moves it to
   * the failure queue, 1..1000. At least 5, AWS's guidance for queues in front of Lambda: a receive
   * whose execution was throttled counts too.
   * @default 5
   */
  maxReceiveCount?: number;
  /**
   * Most concurrent invocations of each of the pipeline's functions (validate, your stages, store):
   * each gets this as its reserved concurrency (a stage's own `reservedConcurrency` wins), which
   * both caps it and guarantees it. An execution throttled at the cap fails as a whole, so its
   * messages wait in the buffer and come back, instead of going to the failure queue.
   * `0` sets no cap: the functions share the account's pool. 0..1000.
   * @default 10
   */
  maxConcurrency?: number;
  /** Days the failure queue keeps a message, 1..14. @default 14 */
  failureRetentionDays?: number;
  /** X-Ray tracing of the state machine and every stage function. @default false */
  tracing?: boolean;
  /** Days CloudWatch keeps the state machine's and the functions' logs. @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the state machine's log group and every stage function's (config
   * logEncryption: index.ts passes `LogEncryptionKey.keyArn`).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** State machine log level. @default "ERROR" */
  logLevel?: "ERROR" | "ALL";
  /** Put state inputs and outputs (event payloads) into the state machine's logs. @default false */
  includeExecutionData?: boolean;
  /** Reserved concurrency of the project's own stage functions. @default the pipeline's `maxConcurrency` for each */
  reservedConcurrency?: { validate?: number; store?: number };
  transform?: {
    topic?: Transform<aws.sns.TopicArgs>;
    topicKey?: Transform<aws.kms.KeyArgs>;
    buffer?: Transform<aws.sqs.QueueArgs>;
    failureQueue?: Transform<aws.sqs.QueueArgs>;
    undeliveredQueue?: Transform<aws.sqs.QueueArgs>;
    subscription?: Transform<aws.sns.TopicSubscriptionArgs>;
    pipe?: Transform<aws.pipes.PipeArgs>;
    pipeRole?: Transform<aws.iam.RoleArgs>;
    stateMachine?: Transform<aws.sfn.StateMachineArgs>;
    stateMachineRole?: Transform<aws.iam.RoleArgs>;
    stateMachineLogGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
  };
}

/** Names the pipeline's own resources take, so a stage may not. */
const RESERVED_STAGE_NAMES = ["validate", "store", "pipe", "machine", "topic", "buffer", "failed"];
const NAME_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
/** SQS hides a received message this long; longer than an Express execution can run. */
const BUFFER_VISIBILITY_SECONDS = EXPRESS_MAX_SECONDS + 30;

export const PIPE_SOURCE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] as const;
/**
 * What Step Functions needs to deliver its logs to CloudWatch Logs. These actions support no
 * resource-level permissions, so `*` is the narrowest resource AWS allows (docs/adr/0018).
 */
export const STATE_MACHINE_LOG_DELIVERY_ACTIONS = [
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
] as const;
/** X-Ray for a state machine: the write actions plus sampling rules; none has resource-level permissions. */
export const STATE_MACHINE_XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"] as const;

export class EventPipeline extends pulumi.ComponentResource {
  readonly pipelineName: string;
  readonly topic: aws.sns.Topic;
  readonly topicKey: aws.kms.Key;
  readonly buffer: aws.sqs.Queue;
  /** The buffer's dead-letter queue, where the state machine also sends events that failed a stage. */
  readonly failureQueue: aws.sqs.Queue;
  /**
   * The subscription's dead-letter queue: messages SNS could not deliver to the buffer (a client
   * error such as a message over the buffer's size limit), which SNS would otherwise discard.
   */
  readonly undeliveredQueue: aws.sqs.Queue;
  readonly validate: HandlerFunction;
  readonly stages: HandlerFunction[];
  readonly store: HandlerFunction;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly stateMachineRole: aws.iam.Role;
  readonly stateMachineLogGroup: aws.cloudwatch.LogGroup;
  readonly pipe: aws.pipes.Pipe;
  readonly pipeRole: aws.iam.Role;
  readonly topicArn: pulumi.Output<string>;
  readonly stateMachineArn: pulumi.Output<string>;
  /** The concurrency this pipeline reserves, by function purpose (e.g. `payments-validate`); for the account's quota. */
  readonly reservedConcurrency: Record<string, number>;

  constructor(name: string, args: EventPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventPipeline", name, {}, opts);
    const settings = normalize(name, args);
    const purpose = (suffix: string) => `${name}-${suffix}`;
    /** A function's own reservation, else the pipeline's cap; undefined: the shared pool. */
    const reservedFor = (stage: string): number | undefined =>
      (stage === "validate" ? settings.reserved.validate : stage === "store" ? settings.reserved.store : args.stages.find((s) => s.name === stage)?.reservedConcurrency) ?? settings.cap;
    const scope = keyScope(this);
    let machinePolicy: aws.iam.RolePolicy | undefined;
    let pipePolicy: aws.iam.RolePolicy | undefined;
    let undeliveredPolicy: aws.sqs.QueuePolicy | undefined;

    this.pipelineName = name;
    this.topicKey = createTopicKey(this);
    this.topic = createTopic(this);
    this.failureQueue = createFailureQueue(this);
    this.buffer = createBuffer(this);
    this.undeliveredQueue = createUndeliveredQueue(this);
    createSubscription(this);
    this.validate = createOwnStage(this, "validate", "handlers/pipelineValidate.ts", [], reservedFor("validate"));
    this.stages = args.stages.map((stage) => createUserStage(this, stage));
    this.store = createOwnStage(this, "store", "handlers/pipelineStore.ts", [...args.store.grant(["dynamodb:PutItem", "dynamodb:GetItem"]), ...args.store.grantPayloadObjects(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"])], reservedFor("store"));
    this.stateMachineLogGroup = createStateMachineLogGroup(this);
    this.stateMachineRole = createStateMachineRole(this);
    this.stateMachine = createStateMachine(this);
    this.pipeRole = createPipeRole(this);
    this.pipe = createPipe(this);

    this.reservedConcurrency = Object.fromEntries(
      ["validate", ...args.stages.map((stage) => stage.name), "store"].flatMap((stage) => {
        const count = reservedFor(stage);
        return count === undefined ? [] : [[purpose(stage), count]];
      }),
    );
    this.topicArn = this.topic.arn;
    this.stateMachineArn = this.stateMachine.arn;
    this.registerOutputs({ topicArn: this.topicArn, stateMachineArn: this.stateMachineArn, failureQueueUrl: this.failureQueue.url, undeliveredQueueUrl: this.undeliveredQueue.url });

    function createTopicKey(parent: EventPipeline): aws.kms.Key {
      // The topic's ARN follows from its name, so the key's policy can name it before the topic exists.
      const policy = scope.apply((s) => JSON.stringify(topicKeyPolicy(s, `arn:${s.partition}:sns:${s.region}:${s.account}:${physicalName(purpose("topic"), "snsTopic")}`)));
      return createKey(
        `${name}-topic`,
        { purpose: purpose("topic"), description: `Encrypts the ${physicalName(purpose("topic"), "snsTopic")} SNS topic`, policy, ...(args.transform?.topicKey ? { transform: args.transform.topicKey } : {}) },
        parent,
      ).key;
    }

    function createTopic(parent: EventPipeline): aws.sns.Topic {
      return new aws.sns.Topic(
        `${name}-topic`,
        applyTransform<aws.sns.TopicArgs>({ name: physicalName(purpose("topic"), "snsTopic"), kmsMasterKeyId: parent.topicKey.arn }, args.transform?.topic),
        { parent },
      );
    }

    function createFailureQueue(parent: EventPipeline): aws.sqs.Queue {
      return new aws.sqs.Queue(
        `${name}-failed`,
        applyTransform<aws.sqs.QueueArgs>(
          { name: physicalName(purpose("failed"), "sqsQueue"), messageRetentionSeconds: settings.failureRetentionDays * 86_400, sqsManagedSseEnabled: true },
          args.transform?.failureQueue,
        ),
        { parent },
      );
    }

    function createBuffer(parent: EventPipeline): aws.sqs.Queue {
      const buffer = new aws.sqs.Queue(
        `${name}-buffer`,
        applyTransform<aws.sqs.QueueArgs>(
          {
            name: physicalName(purpose("buffer"), "sqsQueue"),
            sqsManagedSseEnabled: true,
            visibilityTimeoutSeconds: BUFFER_VISIBILITY_SECONDS,
            messageRetentionSeconds: 4 * 86_400,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: parent.failureQueue.arn, maxReceiveCount: settings.maxReceiveCount }),
          },
          args.transform?.buffer,
        ),
        { parent },
      );
      // Only this topic may send to the buffer.
      fromThisTopicOnly(parent, `${name}-buffer-policy`, buffer);
      // Messages may be redriven from the failure queue to this buffer only.
      new aws.sqs.RedriveAllowPolicy(
        `${name}-failed-redrive`,
        { queueUrl: parent.failureQueue.url, redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [buffer.arn] }) },
        { parent },
      );
      return buffer;
    }

    /**
     * SNS discards a message whose delivery fails with a client error (the buffer refusing a message
     * over its size limit, a policy or key problem) unless the subscription has a dead-letter queue
     * (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html). Its own queue, not
     * the failure queue: what lands here never reached the pipeline, and redriving it into the
     * buffer would fail the same way until its cause is fixed. 1 MiB, SQS's largest, so a
     * notification too large for the buffer's 256 KiB still fits.
     */
    function createUndeliveredQueue(parent: EventPipeline): aws.sqs.Queue {
      const queue = new aws.sqs.Queue(
        `${name}-undelivered`,
        applyTransform<aws.sqs.QueueArgs>(
          {
            name: physicalName(purpose("undelivered"), "sqsQueue"),
            messageRetentionSeconds: settings.failureRetentionDays * 86_400,
            maxMessageSize: AWS_LIMITS.sqsMessageBytes,
            sqsManagedSseEnabled: true,
          },
          args.transform?.undeliveredQueue,
        ),
        { parent },
      );
      undeliveredPolicy = fromThisTopicOnly(parent, `${name}-undelivered-policy`, queue);
      return queue;
    }

    /** A queue policy that lets SNS send to `queue` for this pipeline's topic and no other. */
    function fromThisTopicOnly(parent: EventPipeline, logicalName: string, queue: aws.sqs.Queue): aws.sqs.QueuePolicy {
      return new aws.sqs.QueuePolicy(
        logicalName,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "FromThisTopicOnly",
                Effect: "Allow",
                Principal: { Service: "sns.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: queue.arn,
                Condition: { ArnEquals: { "aws:SourceArn": parent.topic.arn } },
              },
            ],
          }),
        },
        { parent },
      );
    }

    function createSubscription(parent: EventPipeline): aws.sns.TopicSubscription {
      return new aws.sns.TopicSubscription(
        `${name}-subscription`,
        applyTransform<aws.sns.TopicSubscriptionArgs>(
          {
            topic: parent.topic.arn,
            protocol: "sqs",
            endpoint: parent.buffer.arn,
            // Not raw delivery: the SNS envelope carries the message id that makes redelivery idempotent (ADR 0018).
            rawMessageDelivery: false,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: parent.undeliveredQueue.arn }),
          },
          args.transform?.subscription,
        ),
        // SNS may send to the dead-letter queue only once its policy allows it.
        { parent, dependsOn: [undeliveredPolicy!] },
      );
    }

    function createOwnStage(parent: EventPipeline, stage: "validate" | "store", entry: string, grants: GrantStatement[], reservedConcurrency: number | undefined): HandlerFunction {
      return createHandlerFunction(
        `${name}-${stage}`,
        {
          purpose: purpose(stage),
          entry,
          description: stage === "validate" ? `Pipeline ${name}: strict JSON reader + event schema` : `Pipeline ${name}: the shared idempotent event write`,
          environment: { [PIPELINE_ENV.name]: name, ...args.store.functionEnvironment(settings.maxEventBytes) },
          grants,
          memoryMb: OWN_STAGE_MEMORY_MB,
          timeoutSeconds: OWN_STAGE_TIMEOUT_SECONDS,
          logRetentionDays: settings.logRetentionDays,
          logKey: args.logKey,
          tracing: settings.tracing,
          ...(reservedConcurrency === undefined ? {} : { reservedConcurrency }),
        },
        parent,
      );
    }

    function createUserStage(parent: EventPipeline, stage: PipelineStage): HandlerFunction {
      return createFunction(
        `${name}-${stage.name}`,
        {
          purpose: purpose(stage.name),
          description: stage.description ?? `Pipeline ${name}: stage "${stage.name}" (inline callback)`,
          code: serializedCallback(stageEntry(stage.handler)),
          handler: "index.handler",
          environment: { [PIPELINE_ENV.name]: name, ...stage.environment },
          grants: stage.grants ?? [],
          memoryMb: stage.memoryMb ?? 256,
          timeoutSeconds: stage.timeoutSeconds ?? 30,
          logRetentionDays: settings.logRetentionDays,
          logKey: args.logKey,
          tracing: settings.tracing,
          ...(reservedFor(stage.name) === undefined ? {} : { reservedConcurrency: reservedFor(stage.name) }),
          ...(stage.transform ? { transform: stage.transform } : {}),
        },
        parent,
      );
    }

    function createStateMachineLogGroup(parent: EventPipeline): aws.cloudwatch.LogGroup {
      return createLogGroup(
        `${name}-machine-logs`,
        applyTransform<aws.cloudwatch.LogGroupArgs>(
          { name: `/aws/vendedlogs/states/${physicalName(purpose("machine"), "logGroup")}`, retentionInDays: settings.logRetentionDays },
          args.transform?.stateMachineLogGroup,
        ),
        args.logKey,
        { parent },
      );
    }

    function createStateMachineRole(parent: EventPipeline): aws.iam.Role {
      const role = new aws.iam.Role(
        `${name}-machine-role`,
        applyTransform<aws.iam.RoleArgs>({
          name: physicalName(purpose("machine"), "iamRole"),
          description: `Execution role of the ${physicalName(purpose("machine"), "stateMachine")} state machine`,
          assumeRolePolicy: scope.apply((s) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": s.account } } },
              ],
            }),
          ),
        }, args.transform?.stateMachineRole),
        { parent },
      );
      const functions = [parent.validate, ...parent.stages, parent.store].map((f) => f.function.arn);
      const statements: GrantStatement[] = [
        { Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: functions },
        { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [parent.failureQueue.arn] },
        { Effect: "Allow", Action: [...STATE_MACHINE_LOG_DELIVERY_ACTIONS], Resource: ["*"] },
        ...(settings.tracing ? [{ Effect: "Allow" as const, Action: [...STATE_MACHINE_XRAY_ACTIONS], Resource: ["*"] }] : []),
      ];
      machinePolicy = new aws.iam.RolePolicy(`${name}-machine-policy`, { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) }, { parent });
      return role;
    }

    function createStateMachine(parent: EventPipeline): aws.sfn.StateMachine {
      const stageArns = pulumi.all(parent.stages.map((stage) => stage.function.arn));
      const definition = pulumi
        .all([parent.validate.function.arn, stageArns, parent.store.function.arn, parent.failureQueue.url, scope])
        .apply(([validateArn, arns, storeArn, failureQueueUrl, s]) =>
          JSON.stringify(pipelineDefinition({ validateArn, stages: stageTasks(name, args.stages, args.retry, arns), storeArn, failureQueueUrl, partition: s.partition })),
        );
      return new aws.sfn.StateMachine(
        `${name}-machine`,
        applyTransform<aws.sfn.StateMachineArgs>(
          {
            name: physicalName(purpose("machine"), "stateMachine"),
            type: "EXPRESS",
            roleArn: parent.stateMachineRole.arn,
            definition,
            loggingConfiguration: {
              level: settings.logLevel,
              includeExecutionData: settings.includeExecutionData,
              logDestination: pulumi.interpolate`${parent.stateMachineLogGroup.arn}:*`,
            },
            tracingConfiguration: { enabled: settings.tracing },
          },
          args.transform?.stateMachine,
        ),
        // The role's policy must be in place before Step Functions checks log delivery.
        { parent, dependsOn: [machinePolicy!] },
      );
    }

    function createPipeRole(parent: EventPipeline): aws.iam.Role {
      const role = new aws.iam.Role(
        `${name}-pipe-role`,
        applyTransform<aws.iam.RoleArgs>({
          name: physicalName(purpose("pipe"), "iamRole"),
          description: `Role of the ${physicalName(purpose("pipe"), "pipe")} pipe: read the buffer, run the state machine`,
          assumeRolePolicy: scope.apply((s) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Principal: { Service: "pipes.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": s.account } } },
              ],
            }),
          ),
        }, args.transform?.pipeRole),
        { parent },
      );
      const statements: GrantStatement[] = [
        { Effect: "Allow", Action: [...PIPE_SOURCE_ACTIONS], Resource: [parent.buffer.arn] },
        { Effect: "Allow", Action: ["states:StartSyncExecution"], Resource: [parent.stateMachine.arn] },
      ];
      pipePolicy = new aws.iam.RolePolicy(`${name}-pipe-policy`, { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) }, { parent });
      return role;
    }

    function createPipe(parent: EventPipeline): aws.pipes.Pipe {
      return new aws.pipes.Pipe(
        `${name}-pipe`,
        applyTransform<aws.pipes.PipeArgs>(
          {
            name: physicalName(purpose("pipe"), "pipe"),
            roleArn: parent.pipeRole.arn,
            source: parent.buffer.arn,
            sourceParameters: { sqsQueueParameters: { batchSize: settings.batchSize, maximumBatchingWindowInSeconds: settings.maxBatchingWindowSeconds } },
            target: parent.stateMachine.arn,
            // Synchronous: a failed execution leaves the messages in the buffer, to be received again.
            targetParameters: { stepFunctionStateMachineParameters: { invocationType: "REQUEST_RESPONSE" } },
          },
          args.transform?.pipe,
        ),
        { parent, dependsOn: [pipePolicy!] },
      );
    }
  }
}

/**
 * The module a user's stage becomes: Lambda hands it `{ event, origin }` (the state machine's
 * `$.accepted`), the callback gets the event and a context, and whatever it returns replaces the
 * event. Serialized by Pulumi; the local runner serializes the very same factory.
 */
export function stageEntry(handler: StageHandler): { factory: () => (input: AcceptedEvent, context: aws.lambda.Context) => Promise<PipelineEvent> } {
  return {
    factory: () => {
      const callback = typeof handler === "function" ? handler : handler.factory();
      return async (input, context) => {
        const event = await callback(input.event, { origin: input.origin, lambda: context });
        if (event === null || typeof event !== "object" || Array.isArray(event)) {
          throw new TypeError(`the stage returned ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}; return the event (changed or not)`);
        }
        return event;
      };
    },
  };
}

/**
 * The user's stages as state machine tasks, with their timeouts and their retries (the stage's
 * own `retry` over the pipeline's, over the defaults); `functionArns` in stage order. The local
 * runner builds its definition with this too.
 */
export function stageTasks(pipelineName: string, stages: readonly PipelineStage[], retry: RetryArgs | undefined, functionArns: readonly string[]): DefinitionTask[] {
  const where = `EventPipeline("${pipelineName}")`;
  const base = normalizeRetry(where, "retry", retry ?? {}, defaultRetry());
  return stages.map((stage, i) => ({
    name: stage.name,
    functionArn: functionArns[i]!,
    timeoutSeconds: stage.timeoutSeconds ?? 30,
    retry: stage.retry ? normalizeRetry(`${where} stage "${stage.name}"`, "retry", stage.retry, base) : base,
  }));
}

function normalize(name: string, args: EventPipelineArgs) {
  const where = `EventPipeline("${name}")`;
  if (!NAME_PATTERN.test(name)) throw new Error(`${where}: the name must match [a-z][a-z0-9-]* and be at most 20 characters`);
  const seen = new Set<string>();
  for (const stage of args.stages) {
    if (!NAME_PATTERN.test(stage.name)) {
      throw new Error(`${where}: stage name "${stage.name}" must match [a-z][a-z0-9-]* and be at most 20 characters`);
    }
    if (RESERVED_STAGE_NAMES.includes(stage.name)) throw new Error(`${where}: stage name "${stage.name}" is reserved; choose another`);
    if (seen.has(stage.name)) throw new Error(`${where}: two stages are named "${stage.name}"; stage names must be unique`);
    seen.add(stage.name);
    const handler = stage.handler as unknown;
    const isCallable = typeof handler === "function" || (typeof handler === "object" && handler !== null && typeof (handler as { factory?: unknown }).factory === "function");
    if (!isCallable) throw new Error(`${where}: stage "${stage.name}" needs a handler: a function or { factory: () => function }`);
    if (stage.timeoutSeconds !== undefined) requireInteger(`${where} stage "${stage.name}"`, "timeoutSeconds", stage.timeoutSeconds, 1, EXPRESS_MAX_SECONDS - 60);
  }
  // Fail at preview on bad retry settings, not later inside an apply.
  stageTasks(name, args.stages, args.retry, args.stages.map(() => ""));
  return {
    maxEventBytes: requireInteger(where, "maxEventBytes", args.maxEventBytes ?? 65_536, 1024, AWS_LIMITS.snsMessageBytes),
    batchSize: requireInteger(where, "batchSize", args.batchSize ?? 1, 1, 10),
    maxBatchingWindowSeconds: requireInteger(where, "maxBatchingWindowSeconds", args.maxBatchingWindowSeconds ?? 0, 0, 300),
    maxReceiveCount: requireInteger(where, "maxReceiveCount", args.maxReceiveCount ?? 5, 1, 1000),
    /** The reserved concurrency of every pipeline function without its own; undefined: no cap. */
    cap: ((cap) => (cap === 0 ? undefined : cap))(requireInteger(where, "maxConcurrency", args.maxConcurrency ?? 10, 0, 1000)),
    failureRetentionDays: requireInteger(where, "failureRetentionDays", args.failureRetentionDays ?? 14, 1, 14),
    logRetentionDays: args.logRetentionDays ?? 14,
    logLevel: args.logLevel ?? "ERROR",
    includeExecutionData: args.includeExecutionData ?? false,
    tracing: args.tracing ?? false,
    reserved: args.reservedConcurrency ?? {},
  };
}

function defaultRetry(): RetrySettings {
  return { errors: [PIPELINE_ERRORS.transient], intervalSeconds: 1, maxAttempts: 3, backoffRate: 2, maxDelaySeconds: 30, jitter: true };
}

function normalizeRetry(where: string, arg: string, retry: RetryArgs, base: RetrySettings): RetrySettings {
  const backoffRate = retry.backoffRate ?? base.backoffRate;
  if (!(backoffRate >= 1 && backoffRate <= 10)) throw new Error(`${where}: ${arg}.backoffRate must be from 1 to 10, got ${backoffRate}`);
  const errors = retry.errors ?? base.errors;
  if (errors.some((e) => e === "States.ALL" || e === "")) {
    throw new Error(`${where}: ${arg}.errors must name transient errors; "States.ALL" would retry permanent failures too`);
  }
  return {
    errors,
    intervalSeconds: requireInteger(where, `${arg}.intervalSeconds`, retry.intervalSeconds ?? base.intervalSeconds, 1, 3600),
    maxAttempts: requireInteger(where, `${arg}.maxAttempts`, retry.maxAttempts ?? base.maxAttempts, 0, 10),
    backoffRate,
    maxDelaySeconds: requireInteger(where, `${arg}.maxDelaySeconds`, retry.maxDelaySeconds ?? base.maxDelaySeconds, 1, 3600),
    jitter: retry.jitter ?? base.jitter,
  };
}
