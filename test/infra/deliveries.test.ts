/**
 * Deliveries (config subscriptions, docs/adr/0033) under Pulumi mocks, for the dev and prod stack
 * files with subscriptions set as `pulumi config set` would: every resource, setting and IAM
 * statement written out literally; no delivery resource at all without subscriptions; a bad URL,
 * name or secret fails the preview with a message naming what to change.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { PROJECT_ROOT } from "../../components/bundle";
import { Deliveries, subscriptionParameterValue } from "../../components/Deliveries";
import { EventStore } from "../../components/EventStore";
import { previewOf, renderTree } from "../../cli/preview/stackPreview";
import { newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";

const FUNCTION = "aws:lambda/function:Function";
const QUEUE = "aws:sqs/queue:Queue";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";
const TABLE = "aws:dynamodb/table:Table";
const PARAMETER = "aws:ssm/parameter:Parameter";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const ROUTE = "aws:apigatewayv2/route:Route";

/** The stack's payload bucket (EventStore's claim check), as the mocks report its ARN. */
const payloadBucketArn = (stack: BuiltStack) => stack.one("aws:s3/bucket:Bucket", () => true).state.arn as string;

const SECRETS = { orders: newSubscriptionSecret(), ordersPrevious: newSubscriptionSecret(), audit: newSubscriptionSecret() };
const SUBSCRIPTIONS = "orders=https://orders.example.com/hooks|order.*|invoice.paid, audit=https://audit.example.net/in";
const CONFIG = {
  subscriptions: SUBSCRIPTIONS,
  "subscriptionSecret-orders": SECRETS.orders,
  "subscriptionPreviousSecret-orders": SECRETS.ordersPrevious,
  "subscriptionSecret-audit": SECRETS.audit,
};
/** prod with its own limits, to show each config key reaches its setting. */
const PROD_CONFIG = { ...CONFIG, deliveryMaxAttempts: 5, deliveryTimeoutSeconds: 30, deliveryConcurrency: 4 };

const arn = {
  table: (s: BuiltStack, name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/event-ingestion-${s.stack}-${name}`,
  stream: (s: BuiltStack) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/event-ingestion-${s.stack}-events/stream/2026-01-01T00:00:00.000`,
  queue: (s: BuiltStack, name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:event-ingestion-${s.stack}-${name}`,
  parameter: (s: BuiltStack, name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/event-ingestion/${s.stack}/subscriptions/${name}/secret`,
};
const queueUrl = (s: BuiltStack, name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/event-ingestion-${s.stack}-${name}`;
const fn = (s: BuiltStack, purpose: string) => s.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const queue = (s: BuiltStack, name: string) => s.one(QUEUE, (q) => q.inputs.name === `event-ingestion-${s.stack}-${name}`);
/** A function's statements besides its own logs and X-Ray. */
const grantsOf = (s: BuiltStack, f: MockResource) => policyOf(s, f).Statement.filter((st) => !st.Action.every((a) => a.startsWith("logs:") || a.startsWith("xray:")));
const isSecret = (value: unknown): value is { value: string } =>
  typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
const STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"];
const DELIVERY_FIELDS = { "ForAllValues:StringEquals": { "dynamodb:Attributes": ["event_id", "status", "status_shard", "delivered_at", "delivery_attempts"] } };

describe("Deliveries (stack under Pulumi mocks)", function () {
  this.timeout(120_000);
  const stacks: Record<string, BuiltStack> = {};
  before(async () => {
    stacks.prod = await buildStack("prod", PROD_CONFIG);
    stacks.dev = await buildStack("dev", CONFIG);
  });

  for (const stack of ["dev", "prod"] as const) {
    describe(`${stack}`, () => {
      const s = () => stacks[stack]!;
      const expected = stack === "dev" ? { attempts: 8, timeoutMs: "15000", concurrency: 2, on: false } : { attempts: 5, timeoutMs: "30000", concurrency: 4, on: true };

      it("gives each subscription its own queue: SSE, 4 days' retention, visibility 6 × the deliverer's 60 s, redrive to its DLQ (14 days) after attempts + 10 receives", () => {
        for (const name of ["orders", "audit"]) {
          const q = queue(s(), `delivery-${name}`).inputs;
          expect(q).to.deep.include({ messageRetentionSeconds: 345_600, visibilityTimeoutSeconds: 360, sqsManagedSseEnabled: true });
          expect(JSON.parse(q.redrivePolicy)).to.deep.equal({ deadLetterTargetArn: arn.queue(s(), `delivery-${name}-dlq`), maxReceiveCount: expected.attempts + 10 });
          const dlq = queue(s(), `delivery-${name}-dlq`).inputs;
          expect(dlq).to.deep.include({ messageRetentionSeconds: 1_209_600, sqsManagedSseEnabled: true });
          expect(dlq).not.to.have.property("redrivePolicy");
          const allow = s().one(REDRIVE_ALLOW, (r) => r.inputs.queueUrl === queueUrl(s(), `delivery-${name}-dlq`));
          expect(JSON.parse(allow.inputs.redriveAllowPolicy)).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: [arn.queue(s(), `delivery-${name}`)] });
        }
        expect(queue(s(), "delivery-dispatch-failed").inputs).to.deep.include({ messageRetentionSeconds: 1_209_600, sqsManagedSseEnabled: true });
      });

      it("denies every request not made over TLS on each of the five delivery queues", () => {
        for (const name of ["delivery-orders", "delivery-orders-dlq", "delivery-audit", "delivery-audit-dlq", "delivery-dispatch-failed"]) {
          const policy = s().one(QUEUE_POLICY, (p) => p.inputs.queueUrl === queueUrl(s(), name));
          expect(JSON.parse(policy.inputs.policy), name).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn.queue(s(), name), Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ],
          });
        }
      });

      it("maps each subscription's queue to the deliverer on its own, capped at deliveryConcurrency, with partial batch responses", () => {
        const deliverer = fn(s(), "deliverer");
        for (const name of ["orders", "audit"]) {
          const mapping = s().one(MAPPING, (m) => m.inputs.eventSourceArn === arn.queue(s(), `delivery-${name}`)).inputs;
          expect(mapping).to.deep.equal({
            eventSourceArn: arn.queue(s(), `delivery-${name}`),
            functionName: deliverer.state.arn,
            batchSize: 10,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: expected.concurrency },
          });
        }
        for (const dlq of ["delivery-orders-dlq", "delivery-audit-dlq", "delivery-dispatch-failed"]) {
          expect(s().ofType(MAPPING).filter((m) => m.inputs.eventSourceArn === arn.queue(s(), dlq)), dlq).to.be.empty;
        }
      });

      it("turns on the events table's NEW_IMAGE stream and maps it to the dispatcher: INSERT only, bisect, 10 retries, then the failure queue", () => {
        expect(s().one(TABLE, (t) => t.inputs.name === `event-ingestion-${s().stack}-events`).inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_IMAGE" });
        const mapping = s().one(MAPPING, (m) => m.inputs.eventSourceArn === arn.stream(s())).inputs;
        expect(mapping).to.deep.equal({
          eventSourceArn: arn.stream(s()),
          functionName: fn(s(), "delivery-dispatch").state.arn,
          startingPosition: "LATEST",
          batchSize: 100,
          filterCriteria: { filters: [{ pattern: '{"eventName":["INSERT"]}' }] },
          functionResponseTypes: ["ReportBatchItemFailures"],
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: 10,
          destinationConfig: { onFailure: { destinationArn: arn.queue(s(), "delivery-dispatch-failed") } },
        });
      });

      it("keeps the delivery log in its own table: event_id + attempt_key, TTL on, PITR and deletion protection as the stack's", () => {
        const table = s().one(TABLE, (t) => t.inputs.name === `event-ingestion-${s().stack}-deliveries`).inputs;
        expect(table).to.deep.include({ billingMode: "PAY_PER_REQUEST", hashKey: "event_id", rangeKey: "attempt_key", deletionProtectionEnabled: expected.on });
        expect(table.attributes).to.deep.equal([
          { name: "event_id", type: "S" },
          { name: "attempt_key", type: "S" },
        ]);
        expect(table.ttl).to.deep.equal({ attributeName: "ttl", enabled: true });
        expect(table.pointInTimeRecovery).to.deep.equal({ enabled: expected.on });
        expect(table.serverSideEncryption).to.deep.equal({ enabled: true });
        expect(table.globalSecondaryIndexes).to.deep.equal([]);
      });

      it("keeps each subscription's signing secrets in one SSM SecureString, as a Pulumi secret: current first, the previous during a rotation", () => {
        const parameters = s().ofType(PARAMETER);
        expect(parameters.map((p) => p.inputs.name)).to.have.members([`/event-ingestion/${s().stack}/subscriptions/orders/secret`, `/event-ingestion/${s().stack}/subscriptions/audit/secret`]);
        const want: Record<string, string[]> = { orders: [SECRETS.orders, SECRETS.ordersPrevious], audit: [SECRETS.audit] };
        for (const p of parameters) {
          expect(p.inputs).to.deep.include({ type: "SecureString", tier: "Standard" });
          expect(p.inputs).not.to.have.property("keyId"); // aws/ssm: no kms grant needed
          expect(isSecret(p.inputs.value), p.name).to.equal(true);
          expect(JSON.parse(p.inputs.value.value)).to.deep.equal(want[String(p.inputs.name).split("/").at(-2)!]);
        }
      });

      it("puts no secret in plain text into any resource input", () => {
        const strip = (value: unknown): unknown =>
          isSecret(value) ? "[secret]" : Array.isArray(value) ? value.map(strip) : value !== null && typeof value === "object" ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)])) : value;
        for (const r of s().resources) {
          const text = JSON.stringify(strip(r.inputs));
          for (const secret of Object.values(SECRETS)) expect(text.includes(secret), `${r.type} ${r.name}`).to.equal(false);
        }
      });

      it("the dispatcher may read the stream, update delivery state, and send to exactly the subscription queues and its failure queue", () => {
        const dispatcher = fn(s(), "delivery-dispatch");
        expectLeastPrivilege(s(), dispatcher);
        expect(grantsOf(s(), dispatcher)).to.deep.equal([
          { Effect: "Allow", Action: STREAM_READ, Resource: [arn.stream(s())] },
          { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [arn.table(s(), "deliveries")] },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [arn.queue(s(), "delivery-orders"), arn.queue(s(), "delivery-audit")] },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [arn.queue(s(), "delivery-dispatch-failed")] },
        ]);
        expect(dispatcher.inputs).to.deep.include({ timeout: 30, memorySize: 256 });
      });

      it("the deliverer may read events, update only their delivery fields, log attempts, consume its queues and read exactly its secrets", () => {
        const deliverer = fn(s(), "deliverer");
        expectLeastPrivilege(s(), deliverer);
        expect(grantsOf(s(), deliverer)).to.deep.equal([
          // BatchGetItem on both tables: the event and the subscription's state item in one consistent read.
          { Effect: "Allow", Action: ["dynamodb:BatchGetItem"], Resource: [arn.table(s(), "events")] },
          { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [arn.table(s(), "events")], Condition: DELIVERY_FIELDS },
          // BatchWriteItem: a batch's attempt items; no PutItem (ADR 0041).
          { Effect: "Allow", Action: ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:Query"], Resource: [arn.table(s(), "deliveries")] },
          {
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            Resource: [arn.queue(s(), "delivery-orders"), arn.queue(s(), "delivery-audit")],
          },
          { Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [arn.parameter(s(), "orders"), arn.parameter(s(), "audit")] },
          // A claim-checked payload (ADR 0035) is read back to deliver the event whole: objects only, never the bucket.
          { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${payloadBucketArn(s())}/events/*`] },
        ]);
        expect(deliverer.inputs).to.deep.include({ timeout: 60, memorySize: 256 });
      });

      it("POST /events/{event_id}/replay needs the replay scope; its function reads events, updates delivery fields and state, and sends to the queues", () => {
        const route = s().one(ROUTE, (r) => r.inputs.routeKey === "POST /events/{event_id}/replay");
        expect(route.inputs.authorizationType).to.equal("CUSTOM");
        const replay = fn(s(), "replay");
        expectLeastPrivilege(s(), replay);
        expect(grantsOf(s(), replay)).to.deep.equal([
          { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: [arn.table(s(), "events")] },
          { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [arn.table(s(), "events")], Condition: DELIVERY_FIELDS },
          { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [arn.table(s(), "deliveries")] },
          { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [arn.queue(s(), "delivery-orders"), arn.queue(s(), "delivery-audit")] },
        ]);
      });

      it("the read function may Query the delivery log (GET /events/{event_id}/deliveries) and nothing else of delivery", () => {
        const read = fn(s(), "read");
        expect(grantsOf(s(), read).filter((st) => st.Resource.includes(arn.table(s(), "deliveries")))).to.deep.equal([
          { Effect: "Allow", Action: ["dynamodb:Query"], Resource: [arn.table(s(), "deliveries")] },
        ]);
        expect(grantsOf(s(), read).flatMap((st) => st.Action).filter((a) => a.startsWith("sqs:") || a.startsWith("ssm:"))).to.deep.equal([]);
      });

      it("no function may touch a subscription's dead-letter queue, and only the deliverer reads secrets", () => {
        const dlqs = [arn.queue(s(), "delivery-orders-dlq"), arn.queue(s(), "delivery-audit-dlq")];
        for (const f of s().ofType(FUNCTION)) {
          for (const st of policyOf(s(), f).Statement) {
            for (const dlq of dlqs) expect(st.Resource, f.name).not.to.include(dlq);
            if (st.Action.includes("ssm:GetParameter") && st.Resource.includes(arn.parameter(s(), "orders"))) expect(f.inputs.name).to.equal(`event-ingestion-${s().stack}-deliverer`);
          }
        }
      });

      it("gives the delivery functions the subscriptions, queue URLs and parameter NAMES, the limits and the log table; no secret", () => {
        const want = {
          SUBSCRIPTIONS: JSON.stringify([
            { name: "orders", url: "https://orders.example.com/hooks", filters: ["order.*", "invoice.paid"], queueUrl: queueUrl(s(), "delivery-orders"), secretParameter: `/event-ingestion/${s().stack}/subscriptions/orders/secret` },
            { name: "audit", url: "https://audit.example.net/in", filters: [], queueUrl: queueUrl(s(), "delivery-audit"), secretParameter: `/event-ingestion/${s().stack}/subscriptions/audit/secret` },
          ]),
          DELIVERIES_TABLE_NAME: `event-ingestion-${s().stack}-deliveries`,
          DELIVERY_MAX_ATTEMPTS: String(expected.attempts),
          DELIVERY_TIMEOUT_MS: expected.timeoutMs,
          DELIVERY_LOG_DAYS: "30",
        };
        for (const purpose of ["delivery-dispatch", "deliverer", "replay", "read"]) {
          const env = fn(s(), purpose).inputs.environment.variables;
          expect(env, purpose).to.deep.include(want);
          expect(env, purpose).not.to.have.property("DELIVERY_ALLOW_LOOPBACK");
          expect(env, purpose).not.to.have.property("DELIVERY_SCHEDULE_SCALE");
        }
        expect(fn(s(), "deliverer").inputs.environment.variables.EVENTS_TABLE_NAME).to.equal(`event-ingestion-${s().stack}-events`);
      });

      it("alarms on a failed delivery, on a subscription's backlog age, on its dead letters, on dispatch failures, and on the delivery functions' errors", () => {
        const alarm = (slug: string) => s().one(ALARM, (a) => a.inputs.name === `event-ingestion-${s().stack}-${slug}`).inputs;
        for (const name of ["orders", "audit"]) {
          expect(alarm(`delivery-${name}-failed`)).to.deep.include({
            namespace: "EventIngestion",
            metricName: "DeliveriesFailed",
            dimensions: { Subscription: name },
            statistic: "Sum",
            period: 300,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
          });
          expect(alarm(`delivery-${name}-failed`).alarmDescription).to.include("docs/OPERATIONS.md#delivery-failed");
          expect(alarm(`delivery-${name}-backlog-age`)).to.deep.include({
            namespace: "AWS/SQS",
            metricName: "ApproximateAgeOfOldestMessage",
            dimensions: { QueueName: `event-ingestion-${s().stack}-delivery-${name}` },
            comparisonOperator: "GreaterThanThreshold",
            threshold: 3600,
          });
          expect(alarm(`delivery-${name}-dlq-not-empty`)).to.deep.include({
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: `event-ingestion-${s().stack}-delivery-${name}-dlq` },
            threshold: 0,
          });
        }
        expect(alarm("delivery-dispatch-failed")).to.deep.include({ dimensions: { QueueName: `event-ingestion-${s().stack}-delivery-dispatch-failed` }, threshold: 0 });
        for (const purpose of ["delivery-dispatch", "deliverer", "replay"]) {
          expect(alarm(`${purpose}-errors`).dimensions).to.deep.equal({ FunctionName: `event-ingestion-${s().stack}-${purpose}` });
        }
      });

      it("the dashboard shows deliveries, failures and attempt latency per subscription, and the oldest undelivered age per queue", () => {
        const widgets: { properties: { title?: string; markdown?: string; metrics?: unknown[][] } }[] = JSON.parse(
          s().one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody,
        ).widgets;
        const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!.properties.metrics!.map((m) => m.slice(0, 4));
        expect(widgets.map((w) => w.properties.markdown)).to.include("## Deliveries (per subscription)");
        expect(byTitle("Delivered")).to.deep.equal([
          ["EventIngestion", "DeliveriesSucceeded", "Subscription", "orders"],
          ["EventIngestion", "DeliveriesSucceeded", "Subscription", "audit"],
        ]);
        expect(byTitle("Failed deliveries and failed attempts").map((m) => m[1])).to.deep.equal(["DeliveriesFailed", "DeliveriesFailed", "DeliveryAttemptsFailed", "DeliveryAttemptsFailed"]);
        expect(byTitle("Attempt latency (ms)").map((m) => m[1])).to.deep.equal(Array(4).fill("DeliveryAttemptLatency"));
        expect(byTitle("Oldest undelivered (s)")).to.deep.equal([
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", `event-ingestion-${s().stack}-delivery-orders`],
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", `event-ingestion-${s().stack}-delivery-audit`],
        ]);
      });

      it("points each delivery alarm to a runbook entry that exists in docs/OPERATIONS.md", () => {
        const runbook = fs.readFileSync(path.join(PROJECT_ROOT, "docs/OPERATIONS.md"), "utf8");
        const anchors = new Set([...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")));
        const delivery = s().ofType(ALARM).filter((a) => /-(delivery-|deliverer-)/.test(a.inputs.name));
        expect(delivery).to.have.length(2 * 3 + 1 + 2 * 2); // per subscription 3, dispatch 1, dispatcher and deliverer errors and throttles
        for (const a of delivery) {
          const anchor = /Runbook: docs\/OPERATIONS\.md#([a-z0-9-]+)$/.exec(a.inputs.alarmDescription)?.[1];
          expect(anchors.has(anchor!), `${a.inputs.name} → #${anchor}`).to.equal(true);
        }
      });

      it("npm run preview shows the delivery resources and never a secret's value", () => {
        const tree = renderTree(previewOf(s()));
        for (const name of ["delivery-orders", "delivery-orders-dlq", "delivery-audit", "delivery-dispatch-failed", "deliveries", "deliverer", "delivery-dispatch"]) {
          expect(tree).to.include(`"event-ingestion-${s().stack}-${name}"`);
        }
        expect(tree).to.include("value=[secret]");
        for (const secret of Object.values(SECRETS)) expect(tree.includes(secret.slice("whsec_".length))).to.equal(false);
      });

      it("exports the deliveries table and each subscription's queue and dead-letter queue URL", () => {
        expect(s().outputs).to.deep.include({
          deliveriesTableName: `event-ingestion-${s().stack}-deliveries`,
          deliveryQueueUrls: { orders: queueUrl(s(), "delivery-orders"), audit: queueUrl(s(), "delivery-audit") },
          deliveryDeadLetterQueueUrls: { orders: queueUrl(s(), "delivery-orders-dlq"), audit: queueUrl(s(), "delivery-audit-dlq") },
        });
      });
    });
  }

  describe("without subscriptions (config subscriptions empty, the default)", () => {
    for (const stack of ["dev", "prod"]) {
      it(`${stack}: creates no delivery resource at all, and the events table has no stream unless forwarding needs it`, async () => {
        const bare = await buildStack(stack);
        // GET /events/{event_id}/deliveries stays: a route of the read function, answering an empty log.
        const names = bare.resources.filter((r) => !r.name.startsWith("ingestion-get-events-event_id-deliveries")).map((r) => `${r.type} ${r.name} ${JSON.stringify(r.inputs.name ?? "")}`);
        expect(names.filter((n) => /(?<!un)deliver|subscriptions?[-/]|replay/i.test(n)), "by logical or physical name (the pipeline's undelivered queue is SNS's, not ours)").to.deep.equal([]);
        expect(bare.ofType("event-ingestion:index:Deliveries")).to.deep.equal([]);
        expect(bare.ofType(PARAMETER)).to.deep.equal([]);
        expect(bare.ofType(ROUTE).map((r) => r.inputs.routeKey)).not.to.include("POST /events/{event_id}/replay");
        expect(bare.one(TABLE, (t) => t.inputs.name === `event-ingestion-${stack}-events`).inputs.streamEnabled).to.equal(false);
        const read = fn(bare, "read");
        expect(Object.keys(read.inputs.environment.variables).filter((k) => k.startsWith("DELIVER") || k === "SUBSCRIPTIONS")).to.deep.equal([]);
        expect(bare.outputs.deliveriesTableName).to.equal(undefined);
      });
    }
  });

  it("shares the events table's one stream with the EventBridge forwarder when both are on", async () => {
    const both = await buildStack("dev", { ...CONFIG, forwardToEventBridge: true });
    const stream = arn.stream(both);
    expect(both.one(TABLE, (t) => t.inputs.name === "event-ingestion-dev-events").inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_IMAGE" });
    const readers = both.ofType(MAPPING).filter((m) => m.inputs.eventSourceArn === stream);
    expect(readers.map((m) => m.inputs.functionName)).to.have.members([fn(both, "consumer-forward").state.arn, fn(both, "delivery-dispatch").state.arn]);
  });

  describe("the component on its own", () => {
    const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));

    it("creates its children with parent: this and applies each transform", async () => {
      const current = await buildStack("dev");
      const store = new EventStore("dlv-store", { stream: true });
      const deliveries = new Deliveries("dlv", {
        store,
        subscriptions: [{ name: "hooks", url: "https://hooks.example.com/in", filters: [], secret: pulumi.secret(SECRETS.audit) }],
        transform: {
          queue: { delaySeconds: 2 },
          table: (args) => void (args.tableClass = "STANDARD_INFREQUENT_ACCESS"),
          queueMapping: { maximumBatchingWindowInSeconds: 1 },
        },
      });
      expect(await resolve(deliveries.urn)).to.match(/::event-ingestion:index:Deliveries::dlv$/);
      for (const child of [deliveries.table, deliveries.dispatchFailureQueue, deliveries.streamMapping, deliveries.dispatcher.function, deliveries.deliverer.function, ...deliveries.subscriptions.flatMap((x) => [x.queue, x.deadLetterQueue, x.parameter, x.mapping])]) {
        expect(await resolve(child.urn)).to.include("event-ingestion:index:Deliveries$aws:");
      }
      await resolve(deliveries.subscriptions[0]!.mapping.id);
      const recorded = (name: string) => current.resources.find((r) => r.name === name)!.inputs;
      expect(recorded("dlv-hooks-queue").delaySeconds).to.equal(2);
      expect(recorded("dlv-table").tableClass).to.equal("STANDARD_INFREQUENT_ACCESS");
      expect(recorded("dlv-hooks-source").maximumBatchingWindowInSeconds).to.equal(1);
    });

    it("refuses an events table without a stream, and an empty subscription list", () => {
      const secret = pulumi.secret(SECRETS.audit);
      const sub = { name: "hooks", url: "https://hooks.example.com/in", filters: [], secret };
      expect(() => new Deliveries("dlv-nostream", { store: new EventStore("dlv-nostream-store"), subscriptions: [sub] })).to.throw(/has no stream; create the EventStore with stream: true/);
      expect(() => new Deliveries("dlv-none", { store: new EventStore("dlv-none-store", { stream: true }), subscriptions: [] })).to.throw(/at least one subscription/);
    });
  });

  describe("bad config fails the preview, naming what to change", () => {
    const failure = (config: Record<string, string | number>) => buildStack("dev", config).then(() => "built", (e: Error) => e.message);

    it("an http:// or private-address URL, a bad name, a repeated name", async () => {
      expect(await failure({ ...CONFIG, subscriptions: "orders=http://orders.example.com/hooks" })).to.match(/subscriptions: orders: .*must use https:\/\//);
      expect(await failure({ ...CONFIG, subscriptions: "orders=https://169.254.169.254/latest" })).to.match(/subscriptions: orders: .*169\.254\.169\.254/);
      expect(await failure({ ...CONFIG, subscriptions: "orders=https://10.0.0.7/hooks" })).to.match(/subscriptions: orders: .*10\.0\.0\.7/);
      expect(await failure({ ...CONFIG, subscriptions: "Orders!=https://orders.example.com/hooks" })).to.match(/subscriptions: the name "Orders!"/);
      expect(await failure({ ...CONFIG, subscriptions: "orders=https://a.example.com/,orders=https://b.example.com/" })).to.match(/"orders" appears twice/);
    });

    it("a subscription without its secret", async () => {
      expect(await failure({ subscriptions: "orders=https://orders.example.com/hooks" })).to.match(/subscriptionSecret-orders/);
    });

    it("a secret no Standard Webhooks verifier could use, current or previous, named by its config key and never quoted", () => {
      // Secrets are Outputs: this check runs inside the parameter value's apply, which `pulumi preview` reports.
      expect(() => subscriptionParameterValue("orders", "hunter2")).to.throw(/^Deliveries: config subscriptionSecret-orders: a subscription secret must start with whsec_/);
      expect(() => subscriptionParameterValue("orders", SECRETS.orders, "whsec_c2hvcnQ=")).to.throw(/^Deliveries: config subscriptionPreviousSecret-orders: .*at least 24 random bytes/);
      try {
        subscriptionParameterValue("orders", "hunter2");
      } catch (error) {
        expect((error as Error).message).not.to.include("hunter2");
      }
      expect(JSON.parse(subscriptionParameterValue("orders", SECRETS.orders, ""))).to.deep.equal([SECRETS.orders]);
    });

    it("an attempt timeout that leaves the deliverer no room, too many attempts, a concurrency below SQS's minimum of 2", async () => {
      expect(await failure({ ...CONFIG, deliveryTimeoutSeconds: 55 })).to.match(/deliveryTimeoutSeconds.*from 1 to 50, got 55/);
      expect(await failure({ ...CONFIG, deliveryMaxAttempts: 9 })).to.match(/deliveryMaxAttempts.*from 1 to 8, got 9/);
      expect(await failure({ ...CONFIG, deliveryConcurrency: 1 })).to.match(/deliveryConcurrency.*from 2 to 1000, got 1/);
    });
  });
});
