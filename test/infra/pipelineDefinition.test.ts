/** components/pipelineDefinition.ts on its own: the shape of the generated ASL for any list of stages. */
import { expect } from "chai";
import { StateMachine } from "aws-local-stepfunctions";
import { LAMBDA_SERVICE_ERRORS, pipelineDefinition, STATE_NAMES } from "../../components/pipelineDefinition";
import "../../local/pipeline"; // Promise.withResolvers for the interpreter on Node 20

// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require("asl-validator") as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const arn = (name: string) => `arn:aws:lambda:eu-north-1:123456789012:function:${name}`;
const base = { validateArn: arn("validate"), storeArn: arn("store"), failureQueueUrl: "https://sqs.eu-north-1.amazonaws.com/123456789012/failed" };
const retry = { errors: ["TransientError"], intervalSeconds: 2, maxAttempts: 5, backoffRate: 3, maxDelaySeconds: 60, jitter: false };

describe("pipelineDefinition (the generated Amazon States Language)", () => {
  it("with no stages of yours: Validate straight to Store, still valid ASL", () => {
    const definition = pipelineDefinition({ ...base, stages: [] });
    expect(validateAsl(definition).errors).to.deep.equal([]);
    const states = definition.States[STATE_NAMES.map].ItemProcessor.States;
    expect(states.Validate.Next).to.equal("Store");
    expect(states.Store.End).to.equal(true);
    expect(Object.keys(states).sort()).to.deep.equal(["Check cause", "DeadLetter", "DeadLettered", "Failed at Store", "Failed at Validate", "No cause", "Store", "Throttled", "Validate"]);
  });

  it("gives each stage its own retrier from its settings, without jitter when asked, and a task timeout above the function's", () => {
    const definition = pipelineDefinition({ ...base, stages: [{ name: "enrich", functionArn: arn("enrich"), timeoutSeconds: 12, retry }] });
    const stage = definition.States[STATE_NAMES.map].ItemProcessor.States.enrich;
    expect(stage).to.deep.include({ Resource: arn("enrich"), InputPath: "$.accepted", ResultPath: "$.accepted.event", TimeoutSeconds: 17, Next: "Store" });
    expect(stage.Retry).to.deep.equal([{ ErrorEquals: [...LAMBDA_SERVICE_ERRORS, "TransientError"], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 3, MaxDelaySeconds: 60 }]);
  });

  it("sends the original SQS body with the failed stage, the error and its cause, and fits Express's 5 minutes", () => {
    const definition = pipelineDefinition({ ...base, stages: [] });
    expect(definition.TimeoutSeconds).to.equal(300);
    expect(definition.States[STATE_NAMES.map].ItemProcessor.States.DeadLetter.Parameters).to.deep.equal({
      QueueUrl: base.failureQueueUrl,
      "MessageBody.$": "$.message.body",
      MessageAttributes: {
        failed_stage: { DataType: "String", "StringValue.$": "$.failed_stage" },
        error: { DataType: "String", "StringValue.$": "$.failure.Error" },
        cause: { DataType: "String", "StringValue.$": "$.failure.Cause" },
      },
    });
  });

  it("retries the send to the failure queue on any error, 3 times with jittered backoff, before the execution fails", () => {
    const deadLetter = pipelineDefinition({ ...base, stages: [] }).States[STATE_NAMES.map].ItemProcessor.States.DeadLetter;
    expect(deadLetter.Retry).to.deep.equal([{ ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" }]);
    // No Catch: a send that still fails fails the execution, so the message stays in the buffer.
    expect(deadLetter).not.to.have.property("Catch");
  });

  describe("DeadLetter is total: whatever the failure, the message reaches the failure queue (executed by the ASL interpreter)", () => {
    /** Runs one message through a definition whose Validate fails with `failure`; returns what SQS was sent. */
    async function deadLetterOf(failure: Error): Promise<{ output: unknown; sent: { MessageBody: string; MessageAttributes: Record<string, { DataType: string; StringValue: string }> }[] }> {
      const definition = pipelineDefinition({ ...base, stages: [] });
      expect(validateAsl(definition).errors).to.deep.equal([]);
      const sent: { MessageBody: string; MessageAttributes: Record<string, { DataType: string; StringValue: string }> }[] = [];
      const machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0]);
      const execution = machine.run([{ messageId: "m-1", body: "the original body" }], {
        overrides: {
          taskResourceLocalHandlers: {
            [STATE_NAMES.validate]: async () => {
              throw failure;
            },
            // SQS SendMessage refuses an attribute without a value (InvalidParameterValue).
            [STATE_NAMES.deadLetter]: async (json) => {
              const input = json as unknown as (typeof sent)[number];
              for (const [name, value] of Object.entries(input.MessageAttributes)) {
                if (typeof value.StringValue !== "string" || value.StringValue === "") throw Object.assign(new Error(`attribute ${name} has no value`), { name: "Sqs.InvalidParameterValueException" });
              }
              sent.push(input);
              return { MessageId: "sqs-1" };
            },
          },
          retryIntervalOverrides: { [STATE_NAMES.deadLetter]: 0, [STATE_NAMES.validate]: 0 },
        },
      });
      return { output: await execution.result, sent };
    }

    /** A task error as Step Functions reports it: `Error` always, `Cause` as given (absent when undefined). */
    const taskError = (name: string, cause: string | undefined) => Object.assign(new Error(), { name, message: cause });

    it("a States.Timeout with an empty cause (as Step Functions reports a task timeout) is dead-lettered, its cause stated as absent", async () => {
      const { output, sent } = await deadLetterOf(taskError("States.Timeout", ""));
      expect(output).to.deep.equal([{ dead_lettered: true, failed_stage: "Validate", error: "States.Timeout" }]);
      expect(sent).to.have.length(1);
      expect(sent[0]!.MessageBody).to.equal("the original body");
      expect(sent[0]!.MessageAttributes).to.deep.equal({
        failed_stage: { DataType: "String", StringValue: "Validate" },
        error: { DataType: "String", StringValue: "States.Timeout" },
        cause: { DataType: "String", StringValue: "(no cause given)" },
      });
    });

    it("a failure with no Cause field at all is dead-lettered too (no States.Runtime from a missing path)", async () => {
      const { output, sent } = await deadLetterOf(taskError("States.Timeout", undefined));
      expect(output).to.deep.equal([{ dead_lettered: true, failed_stage: "Validate", error: "States.Timeout" }]);
      expect(sent.map((m) => m.MessageAttributes.cause!.StringValue)).to.deep.equal(["(no cause given)"]);
    });

    it("a failure with a cause keeps it word for word", async () => {
      const { sent } = await deadLetterOf(taskError("EventRejected", '{"errorType":"EventRejected"}'));
      expect(sent.map((m) => m.MessageAttributes.cause!.StringValue)).to.deep.equal(['{"errorType":"EventRejected"}']);
    });
  });

  describe("a stage throttled at the concurrency cap (executed by the ASL interpreter)", () => {
    it("after its retries, fails the execution (the message stays in the buffer) and sends nothing to the failure queue", async () => {
      const definition = pipelineDefinition({ ...base, stages: [] });
      expect(validateAsl(definition).errors).to.deep.equal([]);
      let sent = 0;
      let attempts = 0;
      const machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0]);
      const execution = machine.run([{ messageId: "m-1", body: "{}" }], {
        overrides: {
          taskResourceLocalHandlers: {
            [STATE_NAMES.validate]: async () => {
              attempts += 1;
              throw Object.assign(new Error("Rate Exceeded."), { name: "Lambda.TooManyRequestsException" });
            },
            [STATE_NAMES.deadLetter]: async () => {
              sent += 1;
              return { MessageId: "sqs-1" };
            },
          },
          retryIntervalOverrides: { [STATE_NAMES.validate]: 0 },
        },
      });
      let failure: unknown;
      await execution.result.catch((error: unknown) => (failure = error));
      // The interpreter's ExecutionError carries the Fail state's error as its cause.
      expect((failure as { cause?: { name?: string } }).cause?.name, String(failure)).to.equal("Pipeline.Throttled");
      expect(attempts).to.equal(4); // the first try and the 3 retries of Lambda's service errors
      expect(sent).to.equal(0);
    });
  });
});
