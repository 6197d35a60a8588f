/** components/pipelineDefinition.ts on its own: the shape of the generated ASL for any list of stages. */
import { expect } from "chai";
import { LAMBDA_SERVICE_ERRORS, pipelineDefinition, STATE_NAMES } from "../../components/pipelineDefinition";

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
    expect(Object.keys(states).sort()).to.deep.equal(["DeadLetter", "DeadLettered", "Failed at Store", "Failed at Validate", "Store", "Validate"]);
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
});
