/**
 * The Amazon States Language definition of an EventPipeline's Express state machine, from plain
 * values (function ARNs, queue URL), so the same function serves the Pulumi component, the local
 * runner (local/pipeline.ts) and the tests that validate and execute it.
 *
 * Shape: EventBridge Pipes hands the state machine a JSON array of SQS messages; a Map state runs
 * each message through `Validate` → the user's stages in order → `Store`. Every task retries its
 * transient errors with exponential backoff and jitter; anything that still fails is caught,
 * labelled with the stage that failed, and sent with the original message body to the pipeline's
 * failure queue (`DeadLetter`), from where it can be redriven. If even that send fails, the
 * execution fails, Pipes returns the message to the buffer, and SQS dead-letters it after
 * `maxReceiveCount` receives: nothing is dropped silently (docs/adr/0018).
 */
import { PIPELINE_ERRORS } from "../handlers/lib/pipeline/pipeline";

/** Errors of the Lambda service itself (not of the function's code): always worth a retry. */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;

/** The `cause` attribute of a dead-lettered message whose failure came without one (e.g. States.Timeout). */
export const NO_CAUSE = "(no cause given)";

/** What Step Functions reports when a Lambda task was throttled. */
export const LAMBDA_THROTTLED = "Lambda.TooManyRequestsException";
/** The error an execution fails with when a stage stayed throttled: its messages go back to the buffer. */
export const PIPELINE_THROTTLED = "Pipeline.Throttled";

/** Express workflows run at most 5 minutes. */
export const EXPRESS_MAX_SECONDS = 300;

export const STATE_NAMES = {
  map: "Messages",
  validate: "Validate",
  store: "Store",
  deadLetter: "DeadLetter",
  deadLettered: "DeadLettered",
  checkCause: "Check cause",
  throttled: "Throttled",
  noCause: "No cause",
  failedAt: (stage: string) => `Failed at ${stage}`,
} as const;

/** How a task retries; `errors` are the error names (a thrown error's `name`) that count as transient. */
export interface RetrySettings {
  errors: readonly string[];
  intervalSeconds: number;
  maxAttempts: number;
  backoffRate: number;
  maxDelaySeconds: number;
  /** Full jitter spreads retries of many failing executions apart. */
  jitter: boolean;
}

export interface DefinitionTask {
  /** State name; the user's stages are named by the user (`[a-z][a-z0-9-]*`). */
  name: string;
  functionArn: string;
  timeoutSeconds: number;
  retry: RetrySettings;
}

export interface PipelineDefinitionArgs {
  /** ARN of the project's validation function (handlers/pipelineValidate.ts). */
  validateArn: string;
  /** The user's stages, in order. */
  stages: readonly DefinitionTask[];
  /** ARN of the project's store function (handlers/pipelineStore.ts). */
  storeArn: string;
  failureQueueUrl: string;
  /** The AWS partition, for the service integration's ARN (`arn:aws-cn:states:::sqs:sendMessage`). @default "aws" */
  partition?: string;
  /** Messages of one batch processed at once; 0 is no limit. */
  maxConcurrency?: number;
}

/** The retries of the project's own stages: Lambda's service errors, and storage being unavailable for `Store`. */
export const OWN_STAGE_RETRY: RetrySettings = { errors: [], intervalSeconds: 1, maxAttempts: 3, backoffRate: 2, maxDelaySeconds: 20, jitter: true };
export const STORE_RETRY: RetrySettings = { ...OWN_STAGE_RETRY, errors: [PIPELINE_ERRORS.unavailable], maxAttempts: 4 };

/** Timeout of the project's own stage functions; their work is one read or one write. */
export const OWN_STAGE_TIMEOUT_SECONDS = 10;
/** Memory of the project's own stage functions. */
export const OWN_STAGE_MEMORY_MB = 256;

export type StateMachineDefinition = Record<string, any>;

export function pipelineDefinition(args: PipelineDefinitionArgs): StateMachineDefinition {
  const validate: DefinitionTask = { name: STATE_NAMES.validate, functionArn: args.validateArn, timeoutSeconds: OWN_STAGE_TIMEOUT_SECONDS, retry: OWN_STAGE_RETRY };
  const store: DefinitionTask = { name: STATE_NAMES.store, functionArn: args.storeArn, timeoutSeconds: OWN_STAGE_TIMEOUT_SECONDS, retry: STORE_RETRY };
  const tasks = [validate, ...args.stages, store];
  const states: Record<string, unknown> = {};
  tasks.forEach((task, index) => {
    const next = tasks[index + 1];
    const isValidate = index === 0;
    const isStore = next === undefined;
    states[task.name] = {
      Type: "Task",
      Comment: isValidate ? "Strict JSON reader + the POST /events schema" : isStore ? "The shared idempotent write" : `Stage "${task.name}"`,
      Resource: task.functionArn,
      // Validate reads the SQS message; later stages read { event, origin } and replace only `event`.
      InputPath: isValidate ? "$.message" : "$.accepted",
      ResultPath: isValidate ? "$.accepted" : isStore ? "$.stored" : "$.accepted.event",
      ...(isStore ? { OutputPath: "$.stored" } : {}),
      TimeoutSeconds: task.timeoutSeconds + 5,
      Retry: [retrier(task.retry)],
      Catch: [
        // Throttled at the pipeline's concurrency cap even after the retries: fail the execution, so
        // the message waits in the buffer and is received again (up to maxReceiveCount), instead
        // of a burst filling the failure queue.
        { ErrorEquals: [LAMBDA_THROTTLED], ResultPath: "$.failure", Next: STATE_NAMES.throttled },
        { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: STATE_NAMES.failedAt(task.name) },
      ],
      ...(isStore ? { End: true } : { Next: next.name }),
    };
    states[STATE_NAMES.failedAt(task.name)] = { Type: "Pass", Result: task.name, ResultPath: "$.failed_stage", Next: STATE_NAMES.checkCause };
  });

  states[STATE_NAMES.throttled] = {
    Type: "Fail",
    Error: PIPELINE_THROTTLED,
    Cause: "A stage's function was throttled (the pipeline's concurrency cap, or the account's); the message returns to the buffer",
  };

  // A caught error always has `Error`, but `Cause` may be absent (a path to it would raise an
  // uncatchable States.Runtime) or empty (a task timeout reports ""), and SQS refuses a message
  // attribute without a value. Rules are tried in order, so the absent case never reaches the
  // comparison.
  states[STATE_NAMES.checkCause] = {
    Type: "Choice",
    Choices: [
      // `Not IsPresent` rather than `IsPresent: false`: the same rule, and the form the local interpreter evaluates right.
      { Not: { Variable: "$.failure.Cause", IsPresent: true }, Next: STATE_NAMES.noCause },
      { Variable: "$.failure.Cause", StringEquals: "", Next: STATE_NAMES.noCause },
    ],
    Default: STATE_NAMES.deadLetter,
  };
  states[STATE_NAMES.noCause] = { Type: "Pass", Result: NO_CAUSE, ResultPath: "$.failure.Cause", Next: STATE_NAMES.deadLetter };

  states[STATE_NAMES.deadLetter] = {
    Type: "Task",
    Comment: "The original message, with why and where it failed, to the failure queue (redrive: docs/OPERATIONS.md)",
    Resource: `arn:${args.partition ?? "aws"}:states:::sqs:sendMessage`,
    Parameters: {
      QueueUrl: args.failureQueueUrl,
      "MessageBody.$": "$.message.body",
      MessageAttributes: {
        failed_stage: { DataType: "String", "StringValue.$": "$.failed_stage" },
        error: { DataType: "String", "StringValue.$": "$.failure.Error" },
        cause: { DataType: "String", "StringValue.$": "$.failure.Cause" },
      },
    },
    ResultPath: null,
    Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" }],
    Next: STATE_NAMES.deadLettered,
  };
  states[STATE_NAMES.deadLettered] = {
    Type: "Pass",
    Parameters: { dead_lettered: true, "failed_stage.$": "$.failed_stage", "error.$": "$.failure.Error" },
    End: true,
  };

  return {
    Comment: "EventPipeline: validate → stages → store, per buffered SNS message (generated by components/pipelineDefinition.ts)",
    StartAt: STATE_NAMES.map,
    TimeoutSeconds: EXPRESS_MAX_SECONDS,
    States: {
      [STATE_NAMES.map]: {
        Type: "Map",
        ItemsPath: "$",
        ItemSelector: { "message.$": "$$.Map.Item.Value" },
        MaxConcurrency: args.maxConcurrency ?? 0,
        ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, StartAt: STATE_NAMES.validate, States: states },
        End: true,
      },
    },
  };
}

function retrier(retry: RetrySettings): Record<string, unknown> {
  return {
    ErrorEquals: [...new Set([...LAMBDA_SERVICE_ERRORS, ...retry.errors])],
    IntervalSeconds: retry.intervalSeconds,
    MaxAttempts: retry.maxAttempts,
    BackoffRate: retry.backoffRate,
    MaxDelaySeconds: retry.maxDelaySeconds,
    ...(retry.jitter ? { JitterStrategy: "FULL" } : {}),
  };
}
