/**
 * The Observability component in the real stack: the dashboard's widgets, every alarm, the SNS
 * topic and the optional e-mail subscription, and the runbook entry each alarm points to.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT } from "../../components/bundle";
import { EventIngestionApi } from "../../components/EventIngestionApi";
import { EventStore } from "../../components/EventStore";
import { Observability } from "../../components/Observability";
import { INGEST_METRICS, METRICS_NAMESPACE } from "../../handlers/lib/ops/metrics";
import { HANDLERS } from "../../handlers/routes";
import { buildStack, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
/** Without subscriptions the stack has no delivery resource: no replay function or route (test/infra/deliveries.test.ts). */
const WITHOUT_SUBSCRIPTIONS = (handler: string) => handler !== "replay";
const API_FUNCTIONS = [...Object.keys(HANDLERS).filter(WITHOUT_SUBSCRIPTIONS), "authorizer"];

type MetricRow = [string, string, ...unknown[]];
interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: (MetricRow | [{ expression: string }])[] };
}

const widgets = (s: BuiltStack): Widget[] => JSON.parse(s.one(DASHBOARD).inputs.dashboardBody).widgets;
const widget = (s: BuiltStack, title: string): Widget => {
  const found = widgets(s).filter((w) => w.properties.title === title);
  expect(found, title).to.have.length(1);
  return found[0]!;
};
/** `[namespace, name, dim1, value1, …, {options}]` → the parts a test cares about. */
const metricsOf = (w: Widget) =>
  (w.properties.metrics ?? [])
    .filter((m): m is MetricRow => typeof m[0] === "string")
    .map((m) => {
      const options = m[m.length - 1] as { stat: string; label?: string };
      const dims: Record<string, unknown> = {};
      for (let i = 2; i < m.length - 1; i += 2) dims[m[i] as string] = m[i + 1];
      return { namespace: m[0], name: m[1], dims, stat: options.stat, label: options.label };
    });
const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));
const alarm = (s: BuiltStack, slug: string): MockResource => s.one(ALARM, (a) => a.inputs.name === `event-ingestion-${s.stack}-${slug}`);

describe("Observability: dashboard, alarms, alarm topic", function () {
  this.timeout(60_000);
  let dev: BuiltStack;
  let full: BuiltStack;
  before(async () => {
    dev = await sharedStack("dev");
    full = await sharedStack("dev", EVERYTHING_ON);
  });

  describe("the alarm topic", () => {
    it("is one SNS topic per stack; without alarmEmail (the default) nothing subscribes to it", () => {
      expect(dev.one(TOPIC).inputs.name).to.equal("event-ingestion-dev-alarms");
      expect(dev.ofType(SUBSCRIPTION)).to.have.length(0);
      expect(dev.outputs.alarmTopicArn).to.equal("arn:aws:sns:eu-north-1:123456789012:event-ingestion-dev-alarms");
    });

    it("with alarmEmail, an e-mail subscription to that address", () => {
      expect(full.one(SUBSCRIPTION).inputs).to.deep.include({
        topic: full.one(TOPIC).state.arn,
        protocol: "email",
        endpoint: "oncall@example.com",
      });
    });

    it("rejects an alarmEmail that is not an address, naming the key", async () => {
      let failure: unknown;
      try {
        await buildStack("dev", { alarmEmail: "oncall" });
      } catch (error) {
        failure = error;
      }
      expect(String(failure)).to.match(/alarmEmail must be an e-mail address/);
    });
  });

  describe("alarms", () => {
    it("API 5xx rate: 5xx / requests ≥ 1 % in 3 of 5 minutes, minutes under 20 requests not counted", () => {
      const rate = alarm(dev, "api-5xx-rate").inputs;
      expect(rate).to.deep.include({ comparisonOperator: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 5, datapointsToAlarm: 3 });
      expect(rate.metricQueries).to.deep.equal([
        { id: "requests", returnData: false, metric: { namespace: "AWS/ApiGateway", metricName: "Count", dimensions: { ApiId: "ingestion-api-id" }, stat: "Sum", period: 60 } },
        { id: "errors", returnData: false, metric: { namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: { ApiId: "ingestion-api-id" }, stat: "Sum", period: 60 } },
        { id: "rate", label: "5xx rate (%)", expression: "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)", returnData: true },
      ]);
      expect(rate).not.to.have.property("metricName");
    });

    it("errors and throttles of every function, each on its own alarm", () => {
      for (const fn of API_FUNCTIONS) {
        for (const [kind, metricName] of [["errors", "Errors"], ["throttles", "Throttles"]] as const) {
          expect(alarm(dev, `${fn}-${kind}`).inputs, `${fn} ${kind}`).to.deep.include({
            namespace: "AWS/Lambda",
            metricName,
            dimensions: { FunctionName: `event-ingestion-dev-${fn}` },
            statistic: "Sum",
            period: 300,
            threshold: 1,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
          });
        }
      }
      expect(dev.ofType(ALARM)).to.have.length(1 + 2 * API_FUNCTIONS.length);
    });

    it("with a consumer: its errors, its throttles, and its dead-letter queue not empty", () => {
      expect(alarm(full, "consumer-forward-errors").inputs.dimensions).to.deep.equal({ FunctionName: "event-ingestion-dev-consumer-forward" });
      alarm(full, "consumer-forward-throttles");
      expect(alarm(full, "consumer-forward-dlq-not-empty").inputs).to.deep.include({
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: "event-ingestion-dev-consumer-forward-dlq" },
        statistic: "Maximum",
        period: 60,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      });
      expect(full.ofType(ALARM)).to.have.length(1 + 2 * (API_FUNCTIONS.length + 1) + 1);
    });

    it("notify the topic on alarm and on recovery; no data (no traffic) is not an alarm", () => {
      const topicArn = full.one(TOPIC).state.arn;
      for (const a of full.ofType(ALARM)) {
        expect(a.inputs, a.inputs.name).to.deep.include({ alarmActions: [topicArn], okActions: [topicArn], treatMissingData: "notBreaching" });
        expect(a.inputs.name).to.match(/^event-ingestion-dev-[a-z0-9-]+$/);
      }
    });

    it("each point to a runbook entry that exists in docs/OPERATIONS.md", () => {
      const runbook = fs.readFileSync(path.join(PROJECT_ROOT, "docs/OPERATIONS.md"), "utf8");
      const anchors = new Set(
        [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")),
      );
      for (const a of full.ofType(ALARM)) {
        const anchor = /Runbook: docs\/OPERATIONS\.md#([a-z0-9-]+)$/.exec(a.inputs.alarmDescription)?.[1];
        expect(anchor, a.inputs.name).to.be.a("string");
        expect(anchors.has(anchor!), `${a.inputs.name} → #${anchor}`).to.equal(true);
      }
    });
  });

  describe("the dashboard", () => {
    it("is named after the stack and exported as a console URL", () => {
      expect(dev.one(DASHBOARD).inputs.dashboardName).to.equal("event-ingestion-dev-operations");
      expect(dev.outputs.dashboardUrl).to.equal(
        "https://eu-north-1.console.aws.amazon.com/cloudwatch/home?region=eu-north-1#dashboards:name=event-ingestion-dev-operations",
      );
    });

    it("API: requests, 4xx, 5xx, latency p50 and p99 of this API", () => {
      const api = { ApiId: "ingestion-api-id" };
      expect(metricsOf(widget(dev, "Requests"))).to.deep.equal([{ namespace: "AWS/ApiGateway", name: "Count", dims: api, stat: "Sum", label: "requests" }]);
      expect(metricsOf(widget(dev, "4xx and 5xx")).map((m) => [m.name, m.stat])).to.deep.equal([["4xx", "Sum"], ["5xx", "Sum"]]);
      expect(metricsOf(widget(dev, "Latency (ms)")).map((m) => [m.name, m.stat, m.dims])).to.deep.equal([
        ["Latency", "p50", api],
        ["Latency", "p99", api],
      ]);
    });

    it("business counts from the ingest handler's embedded metrics, rejected ones by reason", () => {
      const ingest = { FunctionName: "event-ingestion-dev-ingest" };
      expect(metricsOf(widget(dev, "Accepted, duplicates, rejected"))).to.deep.equal([
        { namespace: METRICS_NAMESPACE, name: INGEST_METRICS.accepted, dims: ingest, stat: "Sum", label: "accepted" },
        { namespace: METRICS_NAMESPACE, name: INGEST_METRICS.duplicates, dims: ingest, stat: "Sum", label: "duplicates" },
        { namespace: METRICS_NAMESPACE, name: INGEST_METRICS.rejected, dims: ingest, stat: "Sum", label: "rejected" },
      ]);
      const [search] = widget(dev, "Rejected by reason").properties.metrics as [{ expression: string }][];
      expect(search![0].expression).to.equal(
        `SEARCH('{EventIngestion,FunctionName,Reason} MetricName="EventsRejected" FunctionName="event-ingestion-dev-ingest"', 'Sum', 60)`,
      );
    });

    it("per function: errors, throttles, duration p50 and p99, concurrent executions", () => {
      const expected: [string, string, string][] = [
        ["Errors", "Errors", "Sum"],
        ["Throttles", "Throttles", "Sum"],
        ["Duration p99 (ms)", "Duration", "p99"],
        ["Duration p50 (ms)", "Duration", "p50"],
        ["Concurrent executions (max)", "ConcurrentExecutions", "Maximum"],
      ];
      for (const [title, name, stat] of expected) {
        const metrics = metricsOf(widget(dev, title));
        expect(metrics.map((m) => m.dims.FunctionName), title).to.have.members(API_FUNCTIONS.map((f) => `event-ingestion-dev-${f}`));
        for (const m of metrics) expect([m.namespace, m.name, m.stat], title).to.deep.equal(["AWS/Lambda", name, stat]);
      }
    });

    it("events table: consumed write and read units, throttled requests per operation the handlers use, status-index write throttles", () => {
      const table = { TableName: "event-ingestion-dev-events" };
      expect(metricsOf(widget(dev, "Consumed write units"))).to.deep.include({ namespace: "AWS/DynamoDB", name: "ConsumedWriteCapacityUnits", dims: table, stat: "Sum", label: "table" });
      expect(metricsOf(widget(dev, "Consumed read units"))[0]).to.deep.include({ name: "ConsumedReadCapacityUnits", dims: table });
      expect(metricsOf(widget(dev, "Throttled requests")).map((m) => m.dims)).to.deep.equal(
        ["BatchGetItem", "BatchWriteItem", "GetItem", "PutItem", "Query", "UpdateItem"].map((Operation) => ({ ...table, Operation })),
      );
      expect(metricsOf(widget(dev, "Status index write throttles"))[0]).to.deep.include({
        name: "WriteThrottleEvents",
        dims: { ...table, GlobalSecondaryIndexName: "status-created_at" },
      });
    });

    it("stream consumers only when there are some: iterator age and dead-letter queue depth", () => {
      expect(widgets(dev).map((w) => w.properties.markdown)).not.to.include("## Stream consumers");
      expect(widgets(full).map((w) => w.properties.markdown)).to.include("## Stream consumers");
      expect(metricsOf(widget(full, "Iterator age (max, ms)"))).to.deep.equal([
        { namespace: "AWS/Lambda", name: "IteratorAge", dims: { FunctionName: "event-ingestion-dev-consumer-forward" }, stat: "Maximum", label: "forward" },
      ]);
      expect(metricsOf(widget(full, "Dead-letter queue depth"))).to.deep.equal([
        { namespace: "AWS/SQS", name: "ApproximateNumberOfMessagesVisible", dims: { QueueName: "event-ingestion-dev-consumer-forward-dlq" }, stat: "Maximum", label: "forward" },
      ]);
      expect(metricsOf(widget(full, "Errors")).map((m) => m.dims.FunctionName)).to.include("event-ingestion-dev-consumer-forward");
    });

    it("fits CloudWatch's limits: at most 100 widgets, every metric period a multiple of 60", () => {
      const all = widgets(full);
      expect(all.length).to.be.at.most(100);
      for (const w of all) for (const m of w.properties.metrics ?? []) if (typeof m[0] === "string") expect((m.at(-1) as { period: number }).period % 60).to.equal(0);
    });
  });

  describe("the component on its own", () => {
    it("creates its children with parent: this and applies transforms to the topic, the dashboard and every alarm", async () => {
      const current = await buildStack("dev"); // components made below register under these mocks
      const store = new EventStore("obs-store");
      const api = new EventIngestionApi("obs-api", { eventStore: store });
      const observability = new Observability("obs", {
        api,
        store,
        serverErrorRatePercent: 5,
        transform: {
          topic: { tags: { Team: "ops" } },
          dashboard: (args) => void (args.name = "renamed"),
          alarm: (args) => void (args.tags = { Severity: "page" }),
        },
      });
      expect(await resolve(observability.urn)).to.match(/::event-ingestion:index:Observability::obs$/);
      for (const child of [observability.topic, observability.dashboard, ...observability.alarms]) {
        expect(await resolve(child.urn)).to.include("event-ingestion:index:Observability$aws:");
      }
      expect(await resolve(observability.dashboard.dashboardName)).to.equal("renamed");
      const recorded = current.resources.filter((r) => r.type === ALARM && r.name.startsWith("obs-"));
      expect(recorded).to.have.length(1 + 2 * API_FUNCTIONS.length);
      for (const a of recorded) expect(a.inputs.tags, a.name).to.deep.equal({ Severity: "page" });
      expect(recorded.find((a) => a.name === "obs-api-5xx-rate")!.inputs.threshold).to.equal(5);
      expect(current.resources.find((r) => r.type === TOPIC && r.name === "obs-alarms")!.inputs.tags).to.deep.equal({ Team: "ops" });
    });

    it("fails early on an error-rate threshold outside (0, 100]", () => {
      const store = new EventStore("obs-bad-store");
      const api = new EventIngestionApi("obs-bad-api", { eventStore: store });
      expect(() => new Observability("obs-bad", { api, store, serverErrorRatePercent: 0 })).to.throw(/serverErrorRatePercent must be more than 0/);
    });
  });
});
