/**
 * ingestMode under Pulumi mocks: `direct` (Pulumi.dev.yaml) has no queue, processor, event source
 * mapping or SQS permission; `queued` (Pulumi.prod.yaml, and dev with the override) has the ingest
 * queue, its DLQ, the processor and its mapping, each role with exactly what it uses, and the
 * queue alarms and dashboard row.
 */
import { expect } from "chai";
import { DEAD_LETTER_RETENTION_SECONDS, INGEST_QUEUE_RETENTION_SECONDS } from "../../components/IngestQueue";
import { PROCESSOR_METRICS } from "../../handlers/lib/ops/metrics";
import { ENV } from "../../handlers/lib/primitives/tables";
import { HANDLERS, PROCESSOR_HANDLER } from "../../handlers/routes";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";
import { sharedStack } from "../support/sharedStacks";

const QUEUE = "aws:sqs/queue:Queue";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy";
const FUNCTION = "aws:lambda/function:Function";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";

const queueArn = (s: BuiltStack, purpose: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:event-ingestion-${s.stack}-${purpose}`;
const tableArn = (s: BuiltStack) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/event-ingestion-${s.stack}-events`;
const queue = (s: BuiltStack, purpose: string) => s.one(QUEUE, (q) => q.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const fn = (s: BuiltStack, purpose: string) => s.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const statementsOf = (s: BuiltStack, f: MockResource) => policyOf(s, f).Statement;

describe("ingestMode: direct and queued under Pulumi mocks", function () {
  this.timeout(60_000);
  let dev: BuiltStack;
  let prod: BuiltStack;
  let devQueued: BuiltStack;
  before(async () => {
    prod = await sharedStack("prod");
    devQueued = await sharedStack("dev", { ingestMode: "queued", queueMaxReceiveCount: 7, processorBatchSize: 25, processorBatchingWindowSeconds: 2, processorMaxConcurrency: 3 });
    dev = await sharedStack("dev");
  });

  describe("direct (Pulumi.dev.yaml)", () => {
    it("has no ingest queue, dead-letter queue, processor, event source mapping or queue policy", () => {
      expect(dev.ofType(QUEUE).map((q) => q.inputs.name)).not.to.include.members(["event-ingestion-dev-ingest", "event-ingestion-dev-ingest-dlq"]);
      expect(dev.ofType(QUEUE)).to.have.length(0);
      expect(dev.ofType(MAPPING)).to.have.length(0);
      expect(dev.ofType(QUEUE_POLICY)).to.have.length(0);
      expect(dev.ofType(REDRIVE_ALLOW)).to.have.length(0);
      expect(dev.ofType(FUNCTION).map((f) => f.inputs.name)).not.to.include("event-ingestion-dev-processor");
    });

    it("grants no function any SQS action, and ingest keeps its conditional put without a queue URL", () => {
      for (const f of dev.ofType(FUNCTION)) {
        for (const statement of statementsOf(dev, f)) expect(statement.Action.filter((a) => a.startsWith("sqs:")), f.name).to.be.empty;
        expect(f.inputs.environment.variables, f.name).not.to.have.property(ENV.ingestQueueUrl);
      }
      const ingest = statementsOf(dev, fn(dev, "ingest")).find((st) => st.Resource.includes(tableArn(dev)))!;
      expect(ingest.Action).to.have.members([...HANDLERS.ingest.eventsTableActions]).and.to.include("dynamodb:PutItem");
    });

    it("the webhook function keeps its conditional put, with no SQS action and no queue URL", () => {
      const webhook = fn(dev, "webhook");
      const statements = statementsOf(dev, webhook);
      expect(statements.flatMap((st) => st.Action).filter((a) => a.startsWith("sqs:"))).to.be.empty;
      expect(statements.find((st) => st.Resource.includes(tableArn(dev)))!.Action).to.have.members(["dynamodb:PutItem", "dynamodb:GetItem"]);
      expect(webhook.inputs.environment.variables).not.to.have.property(ENV.ingestQueueUrl);
    });

    it("has no queue alarms or queue widgets", () => {
      const names = dev.ofType(ALARM).map((a) => a.inputs.name);
      expect(names).not.to.include("event-ingestion-dev-ingest-dlq-not-empty");
      expect(names).not.to.include("event-ingestion-dev-ingest-queue-age");
      expect(dev.one(DASHBOARD).inputs.dashboardBody).not.to.include("AWS/SQS");
    });
  });

  /** The claim check's objects: `events/*` of the stack's one payload bucket. */
  const payloadObjectsArn = (stack: BuiltStack) => `${stack.one("aws:s3/bucket:Bucket").state.arn}/events/*`;

  for (const which of ["prod", "dev+queued"] as const) {
    describe(`queued (${which === "prod" ? "Pulumi.prod.yaml" : "dev with ingestMode=queued"})`, () => {
      const s = () => (which === "prod" ? prod : devQueued);
      // prod: the default, at least 5 (AWS's guidance in front of Lambda); dev+queued sets its own.
      const maxReceiveCount = which === "prod" ? 5 : 7;

      it("the ingest queue: SSE-SQS, 4 days' retention, visibility 6× the processor timeout plus the batching window, redrive to the DLQ", () => {
        const q = queue(s(), "ingest").inputs;
        const window = which === "prod" ? 1 : 2;
        expect(q.sqsManagedSseEnabled).to.equal(true);
        // SQS's 1 MiB bodies need the attribute raised: it defaults to 262,144.
        expect(q.maxMessageSize).to.equal(1_048_576);
        expect(q.messageRetentionSeconds).to.equal(INGEST_QUEUE_RETENTION_SECONDS).and.to.equal(4 * 86_400);
        const processorTimeout = fn(s(), "processor").inputs.timeout;
        expect(processorTimeout).to.equal(PROCESSOR_HANDLER.timeoutSeconds);
        expect(q.visibilityTimeoutSeconds).to.equal(6 * processorTimeout + window).and.to.be.at.least(6 * processorTimeout);
        expect(JSON.parse(q.redrivePolicy)).to.deep.equal({ deadLetterTargetArn: queueArn(s(), "ingest-dlq"), maxReceiveCount });
      });

      it("the DLQ: SSE-SQS, 14 days' retention, accepts messages only from the ingest queue (redrive allow policy)", () => {
        const dlq = queue(s(), "ingest-dlq");
        expect(dlq.inputs.sqsManagedSseEnabled).to.equal(true);
        expect(dlq.inputs.maxMessageSize).to.equal(1_048_576);
        expect(dlq.inputs.messageRetentionSeconds).to.equal(DEAD_LETTER_RETENTION_SECONDS).and.to.equal(14 * 86_400);
        const allow = s().one(REDRIVE_ALLOW, (r) => r.inputs.queueUrl === dlq.state.url);
        expect(allow.inputs.queueUrl).to.equal(dlq.state.url);
        expect(JSON.parse(allow.inputs.redriveAllowPolicy)).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: [queueArn(s(), "ingest")] });
      });

      it("both queues' policies deny every request not made over TLS (aws:SecureTransport)", () => {
        for (const purpose of ["ingest", "ingest-dlq"]) {
          const q = queue(s(), purpose);
          const policy = JSON.parse(s().one(QUEUE_POLICY, (p) => p.inputs.queueUrl === q.state.url).inputs.policy);
          expect(policy.Statement, purpose).to.deep.equal([
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "sqs:*",
              Resource: queueArn(s(), purpose),
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ]);
        }
      });

      it("the event source mapping feeds the processor from the ingest queue with ReportBatchItemFailures, the configured batch and a concurrency cap", () => {
        const mapping = s().one(MAPPING).inputs;
        expect(mapping.eventSourceArn).to.equal(queueArn(s(), "ingest"));
        expect(mapping.functionName).to.equal(fn(s(), "processor").state.arn);
        expect(mapping.functionResponseTypes).to.deep.equal(["ReportBatchItemFailures"]);
        expect(mapping.batchSize).to.equal(which === "prod" ? 10 : 25);
        expect(mapping.maximumBatchingWindowInSeconds).to.equal(which === "prod" ? 1 : 2);
        expect(mapping.scalingConfig).to.deep.equal({ maximumConcurrency: which === "prod" ? 10 : 3 });
      });

      it("ingest may only SendMessage to the ingest queue, GetItem on the table (no table write) and put/get payload objects, and knows the queue URL", () => {
        const ingest = fn(s(), "ingest");
        expectLeastPrivilege(s(), ingest);
        const statements = statementsOf(s(), ingest).filter((st) => !st.Action.every((a) => a.startsWith("logs:") || a.startsWith("xray:")));
        expect(statements).to.deep.equal([
          { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: [tableArn(s())] },
          // A payload too large for a message goes to the bucket before the message (ADR 0043); a stored
          // duplicate's is read (ADR 0035); never a delete.
          { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: [payloadObjectsArn(s())] },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [queueArn(s(), "ingest")] },
        ]);
        expect(ingest.inputs.environment.variables[ENV.ingestQueueUrl]).to.equal(queue(s(), "ingest").state.url);
      });

      it("the webhook function may only SendMessage to the ingest queue, GetItem on the table (no table write) and put/get payload objects, and knows the queue URL", () => {
        const webhook = fn(s(), "webhook");
        expectLeastPrivilege(s(), webhook);
        // Its SSM statement (the sources' secrets) is the webhooks test's subject, and absent without sources.
        const statements = statementsOf(s(), webhook).filter((st) => !st.Action.every((a) => a.startsWith("logs:") || a.startsWith("xray:") || a.startsWith("ssm:")));
        expect(statements).to.deep.equal([
          { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: [tableArn(s())] },
          // A payload too large for a message goes to the bucket before the message (ADR 0043); a stored
          // duplicate's is read (ADR 0035); never a delete.
          { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: [payloadObjectsArn(s())] },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [queueArn(s(), "ingest")] },
        ]);
        expect(webhook.inputs.environment.variables[ENV.ingestQueueUrl]).to.equal(queue(s(), "ingest").state.url);
        expect(webhook.inputs.description).to.equal(HANDLERS.webhook.queued.description);
      });

      it("only ingest and webhook send to the ingest queue; the other route functions neither send nor know its URL", () => {
        for (const name of ["read", "ack", "openapi", "health", "authorizer"]) {
          const f = fn(s(), name);
          expect(statementsOf(s(), f).flatMap((st) => st.Action).filter((a) => a.startsWith("sqs:")), name).to.be.empty;
          expect(f.inputs.environment?.variables ?? {}, name).not.to.have.property(ENV.ingestQueueUrl);
        }
      });

      it("the processor may receive, delete and change the visibility of ingest-queue messages and put/get events; nothing else", () => {
        const processor = fn(s(), "processor");
        expectLeastPrivilege(s(), processor);
        const statements = statementsOf(s(), processor).filter((st) => !st.Action.every((a) => a.startsWith("logs:") || a.startsWith("xray:")));
        expect(statements).to.deep.equal([
          { Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:GetItem"], Resource: [tableArn(s())] },
          { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], Resource: [payloadObjectsArn(s())] },
          {
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            Resource: [queueArn(s(), "ingest")],
          },
        ]);
        const env = processor.inputs.environment.variables;
        expect(env[ENV.ingestQueueUrl]).to.equal(queue(s(), "ingest").state.url);
        // A queued webhook event is checked against the webhook limit (maxWebhookBytes' default), not maxEventBytes.
        expect(env.MAX_WEBHOOK_BYTES).to.equal("1048576");
        expect(env[ENV.eventsTable]).to.equal(`event-ingestion-${s().stack}-events`);
      });

      it("no function's role names the DLQ: only SQS's redrive and an operator's redrive touch it", () => {
        for (const f of s().ofType(FUNCTION)) {
          for (const statement of statementsOf(s(), f)) expect(statement.Resource, f.name).not.to.include(queueArn(s(), "ingest-dlq"));
        }
      });

      it("alarms on a non-empty DLQ, on the oldest message's age, and on processor errors, each with its runbook anchor", () => {
        const alarm = (slug: string) => s().one(ALARM, (a) => a.inputs.name === `event-ingestion-${s().stack}-${slug}`).inputs;
        const dlq = alarm("ingest-dlq-not-empty");
        expect(dlq).to.deep.include({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", comparisonOperator: "GreaterThanThreshold", threshold: 0 });
        expect(dlq.dimensions).to.deep.equal({ QueueName: `event-ingestion-${s().stack}-ingest-dlq` });
        expect(dlq.alarmDescription).to.include("docs/OPERATIONS.md#ingest-dlq-not-empty");
        const age = alarm("ingest-queue-age");
        expect(age).to.deep.include({ namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", comparisonOperator: "GreaterThanThreshold", threshold: 300 });
        expect(age.dimensions).to.deep.equal({ QueueName: `event-ingestion-${s().stack}-ingest` });
        const errors = alarm("processor-errors");
        expect(errors).to.deep.include({ namespace: "AWS/Lambda", metricName: "Errors" });
        expect(errors.dimensions).to.deep.equal({ FunctionName: `event-ingestion-${s().stack}-processor` });
      });

      it("the dashboard has queue depth, oldest-message age, throughput and the processor's outcomes", () => {
        const widgets: { properties: { title?: string; metrics?: unknown[][] } }[] = JSON.parse(s().one(DASHBOARD).inputs.dashboardBody).widgets;
        const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!.properties.metrics!.map((m) => m.slice(0, 4));
        expect(byTitle("Queue depth")).to.deep.equal([
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", `event-ingestion-${s().stack}-ingest`],
          ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", `event-ingestion-${s().stack}-ingest`],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", `event-ingestion-${s().stack}-ingest-dlq`],
        ]);
        expect(byTitle("Oldest message age (s)")[0]).to.deep.equal(["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", `event-ingestion-${s().stack}-ingest`]);
        expect(byTitle("Throughput (messages)").map((m) => m[1])).to.deep.equal(["NumberOfMessagesSent", "NumberOfMessagesDeleted"]);
        expect(byTitle("Processor outcomes").map((m) => m[1])).to.deep.equal(Object.values(PROCESSOR_METRICS));
      });
    });
  }

  describe("bad settings fail early, naming what to change", () => {
    it("rejects an unknown ingestMode", async () => {
      let error: unknown;
      try {
        await buildStack("dev", { ingestMode: "async" });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/config ingestMode must be one of direct, queued, got "async"/);
    });

    it("rejects a batch size above 10 without a batching window", async () => {
      let error: unknown;
      try {
        await buildStack("dev", { ingestMode: "queued", processorBatchSize: 50, processorBatchingWindowSeconds: 0 });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/batchSize above 10 \(got 50\) needs batchingWindowSeconds of at least 1/);
    });

    it("rejects a maximum concurrency below Lambda's minimum of 2", async () => {
      let error: unknown;
      try {
        await buildStack("dev", { ingestMode: "queued", processorMaxConcurrency: 1 });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/maximumConcurrency \(config processorMaxConcurrency\) must be an integer from 2 to 1000, got 1/);
    });
  });
});
