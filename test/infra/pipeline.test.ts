/**
 * EventPipeline and config logEncryption under Pulumi mocks, on the real dev and prod stack files:
 * every resource of the SNS → SQS → Pipe → Step Functions Express path, every IAM statement, the
 * key policies, the generated definition, and the serialized example stages run in a fresh Node
 * process.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EventPipeline } from "../../components/EventPipeline";
import { EventStore } from "../../components/EventStore";
import { LogEncryptionKey } from "../../components/encryptionKeys";
import { LAMBDA_SERVICE_ERRORS, STATE_NAMES } from "../../components/pipelineDefinition";
import { expectLeastPrivilege, policyOf, type PolicyStatement } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";
import { sharedStack } from "../support/sharedStacks";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require("asl-validator") as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const T = {
  key: "aws:kms/key:Key",
  alias: "aws:kms/alias:Alias",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  redriveAllow: "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
  pipe: "aws:pipes/pipe:Pipe",
  machine: "aws:sfn/stateMachine:StateMachine",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  fn: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
} as const;
// The expected action lists, written out here and never imported from the code: a grant that grows
// (sqs:SendMessage on the pipe role, kms:CreateGrant for key administrators) must fail these tests.
const PIPE_SOURCE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];
const STATE_MACHINE_LOG_DELIVERY_ACTIONS = [
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
];
const STATE_MACHINE_XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"];
const KEY_ADMINISTRATION_ACTIONS = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:ListKeyRotations",
  "kms:RotateKeyOnDemand",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
];
const LOGS_KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"];
const SNS_PUBLISH_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];
const PIPELINE_TYPES = [T.subscription, T.queuePolicy, T.redriveAllow, T.pipe, T.machine];
const USER_STAGES = ["validate-payment", "compute-fee", "assign-risk"];

const named = (s: BuiltStack, type: string, purpose: string) => s.one(type, (r) => r.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const rolePolicy = (s: BuiltStack, roleName: string) => JSON.parse(s.one(T.rolePolicy, (p) => p.inputs.role === `${roleName}-id`).inputs.policy) as { Statement: PolicyStatement[] };
const keyPolicy = (key: MockResource) => JSON.parse(key.inputs.policy) as { Statement: { Sid: string; Principal: unknown; Action: string[]; Resource: string; Condition?: unknown }[] };
const globToRegExp = (glob: string) => new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`);

describe("EventPipeline (config pipeline) and config logEncryption", function () {
  this.timeout(120_000);
  const builds: Record<string, BuiltStack> = {};
  before(async () => {
    builds.devDefault = await sharedStack("dev");
    // With the stream consumer too, so its log group is among those that must carry the key.
    builds.devOn = await sharedStack("dev", { pipeline: true, logEncryption: true, forwardToEventBridge: true });
    builds.prod = await sharedStack("prod");
    builds.prodPlainLogs = await sharedStack("prod", { logEncryption: false });
  });

  describe("config defaults", () => {
    it("dev: no pipeline and no KMS key; prod: the pipeline and log encryption are on", () => {
      for (const type of [...PIPELINE_TYPES, T.key]) expect(builds.devDefault!.ofType(type), type).to.have.length(0);
      expect(builds.devDefault!.ofType(T.topic).map((t) => t.inputs.name)).to.deep.equal(["event-ingestion-dev-alarms"]);
      expect(builds.devDefault!.outputs).to.deep.include({ pipelineTopicArn: undefined, pipelineStateMachineArn: undefined, logKeyArn: undefined });
      expect(builds.prod!.outputs).to.deep.include({
        pipelineTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:event-ingestion-prod-payments-topic`,
        pipelineStateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:event-ingestion-prod-payments-machine`,
      });
    });
  });

  for (const build of ["devOn", "prod", "prodPlainLogs"] as const) {
    describe(`the pipeline's resources (${build})`, () => {
      let s: BuiltStack;
      before(() => {
        s = builds[build]!;
      });

      it("the topic is encrypted with its own rotating key, whose policy lets the account use it only through SNS", () => {
        const topic = named(s, T.topic, "payments-topic");
        const key = s.one(T.key, (k) => k.state.arn === topic.inputs.kmsMasterKeyId);
        expect(key.inputs).to.deep.include({ enableKeyRotation: true, deletionWindowInDays: 30 });
        expect(s.one(T.alias, (a) => a.inputs.targetKeyId === key.state.keyId).inputs.name).to.equal(`alias/event-ingestion-${s.stack}-payments-topic`);
        expect(keyPolicy(key).Statement).to.deep.equal([
          { Sid: "KeyAdministration", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: [...KEY_ADMINISTRATION_ACTIONS], Resource: "*" },
          {
            Sid: "PublishThroughSns",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: [...SNS_PUBLISH_KEY_ACTIONS],
            Resource: "*",
            Condition: { StringEquals: { "kms:ViaService": `sns.${REGION}.amazonaws.com`, "kms:CallerAccount": ACCOUNT, "kms:EncryptionContext:aws:sns:topicArn": topic.state.arn } },
          },
        ]);
        // The account administers the key but never encrypts or decrypts with it except through SNS.
        for (const action of KEY_ADMINISTRATION_ACTIONS) expect(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"]).not.to.include(action);
      });

      it("SNS delivers the notification envelope (not raw: it carries the message id) to an encrypted buffer only this topic may send to", () => {
        const topic = named(s, T.topic, "payments-topic");
        const buffer = named(s, T.queue, "payments-buffer");
        expect(s.one(T.subscription).inputs).to.deep.include({ topic: topic.state.arn, protocol: "sqs", endpoint: buffer.state.arn, rawMessageDelivery: false });
        // The stack may hold other queues (prod's ingest queue): the buffer's policy is the one on its URL.
        const bufferPolicy = s.one(T.queuePolicy, (r) => r.inputs.queueUrl === buffer.state.url);
        const policy = JSON.parse(bufferPolicy.inputs.policy);
        expect(policy.Statement).to.deep.equal([
          { Sid: "FromThisTopicOnly", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: buffer.state.arn, Condition: { ArnEquals: { "aws:SourceArn": topic.state.arn } } },
        ]);
      });

      it("the buffer dead-letters to the failure queue after 5 receives, hides messages longer than an Express run, and both are encrypted", () => {
        const buffer = named(s, T.queue, "payments-buffer");
        const failed = named(s, T.queue, "payments-failed");
        expect(buffer.inputs).to.deep.include({ sqsManagedSseEnabled: true, visibilityTimeoutSeconds: 330 });
        // At least 5 (AWS's guidance in front of Lambda): a throttled execution's receive counts too.
        expect(JSON.parse(buffer.inputs.redrivePolicy)).to.deep.equal({ deadLetterTargetArn: failed.state.arn, maxReceiveCount: 5 });
        expect(failed.inputs).to.deep.include({ sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 86_400 });
        const redrive = s.one(T.redriveAllow, (r) => r.inputs.queueUrl === failed.state.url).inputs;
        expect(JSON.parse(redrive.redriveAllowPolicy)).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: [buffer.state.arn] });
      });

      it("what SNS cannot deliver to the buffer (e.g. a message over its size limit) goes to the subscription's own dead-letter queue, which only this topic may send to", () => {
        const topic = named(s, T.topic, "payments-topic");
        const undelivered = named(s, T.queue, "payments-undelivered");
        // Without a redrive policy SNS discards a message that fails delivery with a client error.
        expect(JSON.parse(s.one(T.subscription).inputs.redrivePolicy)).to.deep.equal({ deadLetterTargetArn: undelivered.state.arn });
        // 1 MiB: a notification over the buffer's 256 KiB still fits; kept as long as the failure queue.
        expect(undelivered.inputs).to.deep.include({ sqsManagedSseEnabled: true, maxMessageSize: 1_048_576, messageRetentionSeconds: 14 * 86_400 });
        const policy = JSON.parse(s.one(T.queuePolicy, (r) => r.inputs.queueUrl === undelivered.state.url).inputs.policy);
        expect(policy.Statement).to.deep.equal([
          { Sid: "FromThisTopicOnly", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: undelivered.state.arn, Condition: { ArnEquals: { "aws:SourceArn": topic.state.arn } } },
        ]);
        const alarm = s.ofType(T.alarm).map((a) => a.inputs).find((a) => a.name === `event-ingestion-${s.stack}-pipeline-payments-undelivered-not-empty`)!;
        expect(alarm).to.deep.include({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: `event-ingestion-${s.stack}-payments-undelivered` }, threshold: 1 });
        expect(alarm.alarmDescription).to.include("docs/OPERATIONS.md#pipeline-undelivered-queue-not-empty");
        expect(fs.readFileSync(path.join(__dirname, "../../docs/OPERATIONS.md"), "utf8")).to.include("### Pipeline undelivered queue not empty");
      });

      it("caps every pipeline function at pipelineMaxConcurrency (10): reserved, so a burst waits in the buffer", () => {
        for (const stage of ["validate", ...USER_STAGES, "store"]) {
          expect(named(s, T.fn, `payments-${stage}`).inputs.reservedConcurrentExecutions, stage).to.equal(10);
        }
      });

      it("the pipe reads the buffer one message at a time and starts the Express state machine synchronously; its role does exactly that", () => {
        const pipe = s.one(T.pipe).inputs;
        const machine = s.one(T.machine);
        expect(pipe).to.deep.include({
          name: `event-ingestion-${s.stack}-payments-pipe`,
          source: named(s, T.queue, "payments-buffer").state.arn,
          target: machine.state.arn,
          sourceParameters: { sqsQueueParameters: { batchSize: 1, maximumBatchingWindowInSeconds: 0 } },
          targetParameters: { stepFunctionStateMachineParameters: { invocationType: "REQUEST_RESPONSE" } },
        });
        const role = s.one(T.role, (r) => r.state.arn === pipe.roleArn);
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).to.deep.equal([
          { Effect: "Allow", Principal: { Service: "pipes.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
        ]);
        expect(rolePolicy(s, role.name).Statement).to.deep.equal([
          { Effect: "Allow", Action: [...PIPE_SOURCE_ACTIONS], Resource: [named(s, T.queue, "payments-buffer").state.arn] },
          { Effect: "Allow", Action: ["states:StartSyncExecution"], Resource: [machine.state.arn] },
        ]);
      });

      it("the state machine is Express, logs ERROR without execution data to its own log group, and traces when tracing is on", () => {
        const machine = s.one(T.machine).inputs;
        const logGroup = s.one(T.logGroup, (l) => l.inputs.name === `/aws/vendedlogs/states/event-ingestion-${s.stack}-payments-machine`);
        expect(machine).to.deep.include({
          name: `event-ingestion-${s.stack}-payments-machine`,
          type: "EXPRESS",
          loggingConfiguration: { level: "ERROR", includeExecutionData: false, logDestination: `${logGroup.state.arn}:*` },
          tracingConfiguration: { enabled: s.config["event-ingestion:tracing"] === "true" },
        });
        expect(logGroup.inputs.retentionInDays).to.equal(Number(s.config["event-ingestion:logRetentionDays"]));
      });

      it("the state machine's role invokes exactly its five stage functions, sends to the failure queue, and delivers its logs", () => {
        const machine = s.one(T.machine).inputs;
        const role = s.one(T.role, (r) => r.state.arn === machine.roleArn);
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).to.deep.equal([
          { Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
        ]);
        const functions = ["validate", ...USER_STAGES, "store"].map((stage) => named(s, T.fn, `payments-${stage}`).state.arn);
        const tracing = s.config["event-ingestion:tracing"] === "true";
        expect(rolePolicy(s, role.name).Statement).to.deep.equal([
          { Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: functions },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [named(s, T.queue, "payments-failed").state.arn] },
          // Log delivery and X-Ray actions support no resource-level permissions (docs/adr/0018).
          { Effect: "Allow", Action: [...STATE_MACHINE_LOG_DELIVERY_ACTIONS], Resource: ["*"] },
          ...(tracing ? [{ Effect: "Allow", Action: [...STATE_MACHINE_XRAY_ACTIONS], Resource: ["*"] }] : []),
        ]);
      });

      it("its definition is valid ASL: validate first, the three example stages in order, store last; every task retries and is caught", () => {
        const definition = JSON.parse(s.one(T.machine).inputs.definition);
        const validation = validateAsl(definition);
        expect(validation.errors).to.deep.equal([]);
        expect(validation.isValid).to.equal(true);
        const map = definition.States[STATE_NAMES.map];
        expect(map).to.deep.include({ Type: "Map", ItemsPath: "$", ItemSelector: { "message.$": "$$.Map.Item.Value" } });
        const states = map.ItemProcessor.States;
        const order: string[] = [];
        for (let name: string | undefined = map.ItemProcessor.StartAt; name !== undefined; name = states[name].Next) order.push(name);
        expect(order).to.deep.equal(["Validate", ...USER_STAGES, "Store"]);
        for (const name of order) {
          const state = states[name];
          expect(state.Resource, name).to.equal(named(s, T.fn, `payments-${name === "Validate" ? "validate" : name === "Store" ? "store" : name}`).state.arn);
          expect(state.Retry[0].ErrorEquals, name).to.include.members([...LAMBDA_SERVICE_ERRORS]);
          expect(state.Retry[0].ErrorEquals, name).not.to.include("States.ALL");
          expect(state.Catch, name).to.deep.equal([
            { ErrorEquals: ["Lambda.TooManyRequestsException"], ResultPath: "$.failure", Next: "Throttled" },
            { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: `Failed at ${name}` },
          ]);
          expect(states[`Failed at ${name}`].Next).to.equal(STATE_NAMES.checkCause);
        }
        expect(states.Validate.Retry[0].ErrorEquals).not.to.include("EventRejected");
        expect(states["compute-fee"].Retry[0]).to.deep.include({ IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" });
        expect(states["compute-fee"].Retry[0].ErrorEquals).to.include("TransientError");
        expect(states.Store.Retry[0].ErrorEquals).to.include("StorageUnavailable");
        expect(states[STATE_NAMES.deadLetter].Parameters.QueueUrl).to.equal(named(s, T.queue, "payments-failed").state.url);
      });

      it("every pipeline function has its own least-privilege role: store writes events, the others write only their logs", () => {
        const store = named(s, T.fn, "payments-store");
        const tableArn = named(s, "aws:dynamodb/table:Table", "events").state.arn;
        expect(policyOf(s, store).Statement.slice(1, 2)).to.deep.equal([{ Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:GetItem"], Resource: [tableArn] }]);
        for (const stage of ["validate", ...USER_STAGES, "store"]) {
          const fn = named(s, T.fn, `payments-${stage}`);
          expectLeastPrivilege(s, fn);
          expect(fn.inputs).to.deep.include({ runtime: "nodejs24.x", architectures: ["arm64"] });
          const actions = policyOf(s, fn).Statement.flatMap((st) => st.Action);
          if (stage !== "store") expect(actions.filter((a) => a.startsWith("dynamodb:")), stage).to.deep.equal([]);
        }
        expect(named(s, T.fn, "payments-validate").inputs.environment.variables).to.include({ PIPELINE_NAME: "payments", MAX_EVENT_BYTES: "65536" });
      });

      it("no IAM policy in the stack names a wildcard action; '*' resources are only X-Ray's and log delivery's", () => {
        for (const policy of s.ofType(T.rolePolicy)) {
          for (const statement of JSON.parse(policy.inputs.policy).Statement as PolicyStatement[]) {
            for (const action of statement.Action) expect(action, policy.name).not.to.include("*");
            if (statement.Resource.includes("*")) {
              const allowed = new Set<string>([...STATE_MACHINE_LOG_DELIVERY_ACTIONS, ...STATE_MACHINE_XRAY_ACTIONS]);
              for (const action of statement.Action) expect(allowed.has(action), `${policy.name}: ${action} on *`).to.equal(true);
            }
          }
        }
        for (const key of s.ofType(T.key)) for (const st of keyPolicy(key).Statement) for (const a of st.Action) expect(a, key.name).not.to.include("*");
      });

      it("alarms on failed executions and on a failure queue that is not empty", () => {
        const alarms = s.ofType(T.alarm).map((a) => a.inputs);
        const failed = alarms.find((a) => a.name === `event-ingestion-${s.stack}-pipeline-payments-failed-executions`)!;
        expect(failed).to.deep.include({ namespace: "AWS/States", metricName: "ExecutionsFailed", dimensions: { StateMachineArn: s.one(T.machine).state.arn }, threshold: 1 });
        const depth = alarms.find((a) => a.name === `event-ingestion-${s.stack}-pipeline-payments-failure-queue-not-empty`)!;
        expect(depth).to.deep.include({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: `event-ingestion-${s.stack}-payments-failed` }, threshold: 1 });
        expect(failed.alarmDescription).to.include("docs/OPERATIONS.md#pipeline-failed-executions");
        expect(depth.alarmDescription).to.include("docs/OPERATIONS.md#pipeline-failure-queue-not-empty");
        const runbook = fs.readFileSync(path.join(__dirname, "../../docs/OPERATIONS.md"), "utf8");
        expect(runbook).to.include("### Pipeline failed executions").and.include("### Pipeline failure queue not empty");
      });
    });
  }

  describe("config logEncryption", () => {
    for (const build of ["devOn", "prod"] as const) {
      it(`${build}: every log group in the stack is encrypted with the one log key`, () => {
        const s = builds[build]!;
        const logKey = s.one(T.key, (k) => keyPolicy(k).Statement.some((st) => st.Sid === "CloudWatchLogsOfThisStack"));
        const groups = s.ofType(T.logGroup);
        const names = groups.map((g) => g.inputs.name);
        expect(names).to.include.members([
          `/aws/apigateway/event-ingestion-${s.stack}-api`,
          `/aws/lambda/event-ingestion-${s.stack}-ingest`,
          `/aws/lambda/event-ingestion-${s.stack}-authorizer`,
          `/aws/lambda/event-ingestion-${s.stack}-payments-compute-fee`,
          `/aws/vendedlogs/states/event-ingestion-${s.stack}-payments-machine`,
        ]);
        if (build === "devOn") expect(names).to.include(`/aws/lambda/event-ingestion-dev-consumer-forward`);
        for (const group of groups) expect(group.inputs.kmsKeyId, group.inputs.name).to.equal(logKey.state.arn);
        expect(s.outputs.logKeyArn).to.equal(logKey.state.arn);
      });
    }

    for (const build of ["devDefault", "prodPlainLogs"] as const) {
      it(`${build}: no log group carries a key, and there is no log key`, () => {
        const s = builds[build]!;
        for (const group of s.ofType(T.logGroup)) expect(group.inputs, group.inputs.name).not.to.have.property("kmsKeyId");
        expect(s.ofType(T.key).filter((k) => keyPolicy(k).Statement.some((st) => st.Sid === "CloudWatchLogsOfThisStack"))).to.have.length(0);
      });
    }

    it("the log key rotates, and lets CloudWatch Logs of this region use it for exactly this stack's log groups, named one by one", () => {
      const s = builds.prod!;
      const logKey = s.one(T.key, (k) => keyPolicy(k).Statement.some((st) => st.Sid === "CloudWatchLogsOfThisStack"));
      expect(logKey.inputs.enableKeyRotation).to.equal(true);
      const [admin, logs] = keyPolicy(logKey).Statement;
      expect(admin).to.deep.include({ Sid: "KeyAdministration", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: [...KEY_ADMINISTRATION_ACTIONS] });
      // Every log group of the stack, by its exact ARN: no pattern, so a stack named prod-eu or prod-2 is not covered.
      const arns = s.ofType(T.logGroup).map((g) => g.state.arn as string).sort();
      expect(arns).to.include(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/event-ingestion-prod-ingest`);
      expect(logs).to.deep.equal({
        Sid: "CloudWatchLogsOfThisStack",
        Effect: "Allow",
        Principal: { Service: `logs.${REGION}.amazonaws.com` },
        Action: [...LOGS_KEY_ACTIONS],
        Resource: "*",
        Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": arns } },
      });
      const covered = (arn: string) => (logs!.Condition as any).ArnEquals["kms:EncryptionContext:aws:logs:arn"].some((p: string) => globToRegExp(p).test(arn));
      for (const other of ["prod-eu", "prod-2", "dev"]) {
        expect(covered(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/event-ingestion-${other}-ingest`), other).to.equal(false);
      }
    });

    it("a log group created after the key's policy is sealed is refused, not silently left out of the policy", () => {
      const key = new LogEncryptionKey("sealed-probe");
      key.seal();
      expect(() => key.addLogGroup("/aws/lambda/late")).to.throw(/created after seal\(\)/);
    });
  });

  describe("the example stages, serialized by Pulumi and run in a fresh Node process", () => {
    const input = {
      event: { event_type: "payment.succeeded", payload: { payment_id: "pay_1", amount: 125_000, currency: "EUR", country: "SE", card_country: "SE" } },
      origin: { pipeline: "payments", message_id: "m-1", idempotency_key: "m-1", message_sha256: "0".repeat(64) },
    };

    it("validate-payment passes a valid payment through and rejects an unknown currency with PaymentRejected", async () => {
      const code = await codeOf(named(builds.prod!, T.fn, "payments-validate-payment"));
      expect(code).to.match(/exports\.handler = /).and.not.to.include("@pulumi");
      expect(runInFreshProcess(code, input)).to.deep.equal({ ok: true, result: input.event });
      const bad = { ...input, event: { ...input.event, payload: { ...input.event.payload, currency: "XXX" } } };
      expect(runInFreshProcess(code, bad)).to.deep.equal({ ok: false, name: "PaymentRejected", message: "payload.currency must be one of EUR, USD, GBP, SEK, NOK, DKK, JPY" });
    });

    it("compute-fee adds 1.4% + 25 minor units and the net amount", async () => {
      const code = await codeOf(named(builds.prod!, T.fn, "payments-compute-fee"));
      const result = runInFreshProcess(code, input);
      expect(result.ok && result.result.payload).to.deep.include({ fee: 1775, net_amount: 123_225 });
    });

    it("assign-risk adds metadata.risk_band by amount, one band up for a foreign card", async () => {
      const code = await codeOf(named(builds.prod!, T.fn, "payments-assign-risk"));
      expect(runInFreshProcess(code, input)).to.deep.include({ ok: true });
      expect((runInFreshProcess(code, input) as { result: any }).result.metadata).to.deep.equal({ risk_band: "medium" });
      const foreign = { ...input, event: { ...input.event, payload: { ...input.event.payload, card_country: "US" } } };
      expect((runInFreshProcess(code, foreign) as { result: any }).result.metadata).to.deep.equal({ risk_band: "high" });
    });
  });

  describe("EventPipeline on its own", () => {
    let current: BuiltStack;
    before(async () => {
      current = await buildStack("dev"); // components made below register under these mocks
    });
    const recorded = (type: string, name: string) => current.resources.find((r) => r.type === type && r.name === name)!;

    it("takes its options and transforms, and parents every child to itself", async () => {
      const store = new EventStore("pipeline-options");
      const pipeline = new EventPipeline("orders", {
        store,
        stages: [{ name: "tag", handler: async (e) => e, retry: { errors: ["RateLimited"], maxAttempts: 6 }, reservedConcurrency: 5, memoryMb: 512 }],
        batchSize: 5,
        maxBatchingWindowSeconds: 2,
        maxReceiveCount: 7,
        maxConcurrency: 3,
        logLevel: "ALL",
        includeExecutionData: true,
        tracing: true,
        transform: { pipe: { description: "orders pipe" }, stateMachineRole: (role) => void (role.description = "custom"), buffer: { messageRetentionSeconds: 86_400 } },
      });
      const urns = await Promise.all([pipeline.urn, pipeline.stateMachine.urn, pipeline.pipe.urn, pipeline.buffer.urn, pipeline.stages[0]!.function.urn].map((u) => new Promise<string>((r) => u.apply(r))));
      expect(urns[0]).to.include("event-ingestion:index:EventPipeline::orders");
      for (const urn of urns.slice(1)) expect(urn).to.include("event-ingestion:index:EventPipeline$");
      await new Promise<string>((r) => pipeline.stateMachineArn.apply(r));
      expect(recorded(T.pipe, "orders-pipe").inputs).to.deep.include({ description: "orders pipe", sourceParameters: { sqsQueueParameters: { batchSize: 5, maximumBatchingWindowInSeconds: 2 } } });
      expect(recorded(T.role, "orders-machine-role").inputs.description).to.equal("custom");
      const buffer = recorded(T.queue, "orders-buffer").inputs;
      expect(buffer.messageRetentionSeconds).to.equal(86_400);
      expect(JSON.parse(buffer.redrivePolicy).maxReceiveCount).to.equal(7);
      const machine = recorded(T.machine, "orders-machine").inputs;
      expect(machine.loggingConfiguration).to.deep.include({ level: "ALL", includeExecutionData: true });
      expect(machine.tracingConfiguration).to.deep.equal({ enabled: true });
      const retry = JSON.parse(machine.definition).States.Messages.ItemProcessor.States.tag.Retry[0];
      expect(retry).to.deep.include({ MaxAttempts: 6 });
      expect(retry.ErrorEquals).to.include("RateLimited").and.not.to.include("TransientError");
      expect(recorded(T.fn, "orders-tag").inputs).to.deep.include({ reservedConcurrentExecutions: 5, memorySize: 512 });
      expect(recorded(T.fn, "orders-validate").inputs.reservedConcurrentExecutions).to.equal(3);
      expect(pipeline.reservedConcurrency).to.deep.equal({ "orders-validate": 3, "orders-tag": 5, "orders-store": 3 });
      const uncapped = new EventPipeline("uncapped", { store, stages: [], maxConcurrency: 0 });
      expect(uncapped.reservedConcurrency).to.deep.equal({});
      await new Promise<string>((r) => uncapped.stateMachineArn.apply(r));
      expect(recorded(T.fn, "uncapped-validate").inputs).not.to.have.property("reservedConcurrentExecutions");
    });

    it("fails early on bad names, reserved or duplicate stage names, and bad retry or batch settings", () => {
      const store = new EventStore("pipeline-checks");
      const stage = (name: string) => ({ name, handler: async (e: any) => e });
      expect(() => new EventPipeline("Payments", { store, stages: [] })).to.throw(/the name must match \[a-z\]\[a-z0-9-\]\*/);
      expect(() => new EventPipeline("p1", { store, stages: [stage("store")] })).to.throw(/stage name "store" is reserved/);
      expect(() => new EventPipeline("p2", { store, stages: [stage("a"), stage("a")] })).to.throw(/two stages are named "a"/);
      expect(() => new EventPipeline("p3", { store, stages: [{ name: "x", handler: 42 as never }] })).to.throw(/stage "x" needs a handler/);
      expect(() => new EventPipeline("p4", { store, stages: [], batchSize: 11 })).to.throw(/batchSize must be an integer from 1 to 10/);
      expect(() => new EventPipeline("p5", { store, stages: [], retry: { errors: ["States.ALL"] } })).to.throw(/"States.ALL" would retry permanent failures/);
      expect(() => new EventPipeline("p6", { store, stages: [{ ...stage("slow"), timeoutSeconds: 600 }] })).to.throw(/timeoutSeconds must be an integer from 1 to 240/);
    });
  });
});

async function codeOf(fn: MockResource): Promise<string> {
  const assets = await fn.inputs.code.assets;
  expect(Object.keys(assets)).to.deep.equal(["index.js"]);
  return await assets["index.js"].text;
}

type Outcome = { ok: true; result: any } | { ok: false; name: string; message: string };

/** Writes the module to an empty directory and calls `handler` from a new Node process, as Lambda would. */
function runInFreshProcess(code: string, input: unknown): Outcome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-stage-"));
  try {
    fs.writeFileSync(path.join(dir, "index.js"), code);
    fs.writeFileSync(path.join(dir, "input.json"), JSON.stringify(input));
    const runner =
      'require("./index.js").handler(JSON.parse(require("fs").readFileSync("input.json","utf8")), { awsRequestId: "r" })' +
      '.then((r) => process.stdout.write(JSON.stringify({ ok: true, result: r })), (e) => process.stdout.write(JSON.stringify({ ok: false, name: e.name, message: e.message })));';
    const child = spawnSync(process.execPath, ["-e", runner], { cwd: dir, env: { PATH: process.env.PATH ?? "", PIPELINE_NAME: "payments" }, encoding: "utf8" });
    expect(child.status, child.stderr).to.equal(0);
    return JSON.parse(child.stdout) as Outcome;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
