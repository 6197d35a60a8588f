/**
 * Observability: one CloudWatch dashboard and the alarms of docs/OPERATIONS.md, sent to an SNS
 * topic (optionally to an e-mail address).
 *
 * Dashboard rows: the API (requests, 4xx, 5xx, latency p50/p99), the business counts the ingest
 * handler writes as embedded-metric-format log lines (handlers/lib/ops/metrics.ts), every function
 * (errors, throttles, duration p50/p99, concurrent executions), the events table (consumed write
 * and read units, throttled requests per operation the handlers use, status-index write
 * throttling), and stream consumers (iterator age, dead-letter queue depth).
 *
 * Alarms: API 5xx rate, errors and throttles per function, a dead-letter queue that is not empty,
 * and per SNS pipeline: failed state machine executions, a failure queue that is not empty, and
 * messages SNS could not deliver to the buffer (the subscription's dead-letter queue).
 * In queued mode (an `ingestQueue`), a row for the ingest queue (depth, age of the oldest message,
 * throughput, dead-letter depth, the processor's own counts), and alarms on a dead-letter queue
 * that is not empty and on the oldest message's age; the processor's errors and throttles are
 * alarmed like every other function's.
 *
 * With subscriptions (a `deliveries`), a row per concern of delivery: deliveries and failures per
 * subscription (the deliverer's embedded metrics), attempt latency p50/p99 per subscription, the
 * oldest undelivered message's age per subscription queue, queue and dead-letter depths; alarms on
 * any failed delivery, on a subscription's backlog age, on a subscription's dead-letter queue and
 * on the dispatcher's failure queue; the dispatcher's and deliverer's errors and throttles are
 * alarmed like every other function's.
 *
 * Metrics, widgets and the dashboard body come from @pulumi/awsx's classic CloudWatch helpers
 * (docs/adr/0012); alarms are plain MetricAlarms so one `transform.alarm` reaches all of them.
 */
import * as aws from "@pulumi/aws";
import * as cloudwatch from "@pulumi/awsx/classic/cloudwatch";
import { metrics as dynamodbMetrics } from "@pulumi/awsx/classic/dynamodb";
import { metrics as lambdaMetrics } from "@pulumi/awsx/classic/lambda";
import { metrics as sqsMetrics } from "@pulumi/awsx/classic/sqs";
import * as pulumi from "@pulumi/pulumi";
import { DELIVERY_METRIC_DIMENSION, DELIVERY_METRICS, INGEST_METRICS, METRIC_DIMENSIONS, METRICS_NAMESPACE, PROCESSOR_METRICS } from "../handlers/lib/ops/metrics";
import { STATUS_INDEX } from "../handlers/lib/primitives/tables";
import { HANDLERS } from "../handlers/routes";
import type { Deliveries } from "./Deliveries";
import type { EventConsumer } from "./EventConsumer";
import type { EventIngestionApi } from "./EventIngestionApi";
import type { EventPipeline } from "./EventPipeline";
import type { EventStore } from "./EventStore";
import type { HandlerFunction } from "./handlerFunction";
import type { IngestQueue } from "./IngestQueue";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

export interface ObservabilityArgs {
  api: EventIngestionApi;
  store: EventStore;
  /** Queued mode: the ingest queue, its dead-letter queue and its processor. @default undefined */
  ingestQueue?: IngestQueue;
  /**
   * Queued mode: the oldest-message alarm fires when a message has waited this long (the
   * processor is failing or cannot keep up).
   * @default 300
   */
  queueAgeAlarmSeconds?: number;
  /** Subscriptions' deliveries: their rows and alarms. @default undefined (no subscriptions) */
  deliveries?: Deliveries;
  /**
   * A subscription's backlog alarm fires when its oldest undelivered message has waited this
   * long: longer than the schedule's first retries (5 s, 5 min, 30 min), so one failing attempt
   * does not page, while a receiver down for the better part of an hour, or a deliverer that
   * cannot keep up, does.
   * @default 3600
   */
  deliveryAgeAlarmSeconds?: number;
  /** Stream consumers to watch. @default the store's consumers (`store.consumers`) */
  consumers?: readonly EventConsumer[];
  /** SNS pipelines to watch: failed executions and events waiting in the failure queue. @default [] */
  pipelines?: readonly EventPipeline[];
  /**
   * Where alarm notifications go besides the SNS topic; the address must confirm the
   * subscription (AWS sends a link) before mail arrives.
   * @default undefined (topic only)
   * @example "oncall@example.com"
   */
  alarmEmail?: string;
  /**
   * The API 5xx alarm fires when at least this percentage of requests fail in 3 of 5 minutes.
   * @default 1
   */
  serverErrorRatePercent?: number;
  /** Minutes with fewer requests than this never count toward the 5xx alarm (one failure in three requests is noise). @default 20 */
  serverErrorMinRequests?: number;
  transform?: {
    topic?: Transform<aws.sns.TopicArgs>;
    dashboard?: Transform<cloudwatch.DashboardArgs>;
    /** Applied to every alarm. */
    alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
  };
}

/** A function the dashboard and the alarms watch, with the label they show. */
interface WatchedFunction {
  label: string;
  fn: aws.lambda.Function;
}

const RUNBOOK = "docs/OPERATIONS.md";
const FULL_WIDTH = 24;

export class Observability extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly emailSubscription: aws.sns.TopicSubscription | undefined;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
  readonly dashboardUrl: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:Observability", name, {}, opts);
    const parent = { parent: this };
    const consumers = args.consumers ?? args.store.consumers;
    const alarmEmail = normalizeEmail(args.alarmEmail);
    const errorRate = normalizeErrorRate(args);
    const queue = args.ingestQueue;
    const queueAgeAlarmSeconds = requireInteger("Observability", "queueAgeAlarmSeconds", args.queueAgeAlarmSeconds ?? 300, 60, 14 * 86_400);
    const deliveries = args.deliveries;
    const deliveryAgeAlarmSeconds = requireInteger("Observability", "deliveryAgeAlarmSeconds", args.deliveryAgeAlarmSeconds ?? 3600, 60, 14 * 86_400);
    const functions = watchedFunctions(args.api, consumers, queue, deliveries);
    const apiDimensions = { ApiId: args.api.api.id };
    const ingestFunctionName = args.api.functions.ingest?.function.name;

    this.topic = new aws.sns.Topic(`${name}-alarms`, applyTransform<aws.sns.TopicArgs>({ name: physicalName("alarms") }, args.transform?.topic), parent);
    this.emailSubscription =
      alarmEmail === undefined
        ? undefined
        : new aws.sns.TopicSubscription(`${name}-alarm-email`, { topic: this.topic.arn, protocol: "email", endpoint: alarmEmail }, parent);

    const alarm = (slug: string, description: string, anchor: string, settings: Omit<aws.cloudwatch.MetricAlarmArgs, "name">) => {
      this.alarms.push(
        new aws.cloudwatch.MetricAlarm(
          `${name}-${slug}`,
          applyTransform<aws.cloudwatch.MetricAlarmArgs>(
            {
              name: physicalName(slug),
              alarmDescription: `${description} Runbook: ${RUNBOOK}#${anchor}`,
              alarmActions: [this.topic.arn],
              okActions: [this.topic.arn],
              treatMissingData: "notBreaching",
              ...settings,
            },
            args.transform?.alarm,
          ),
          parent,
        ),
      );
    };
    const fromMetric = (metric: cloudwatch.Metric) => ({
      namespace: metric.namespace,
      metricName: metric.name,
      dimensions: metric.dimensions,
      statistic: metric.statistic,
      period: metric.period,
    });

    createServerErrorAlarm();
    createFunctionAlarms();
    createDeadLetterAlarms();
    createPipelineAlarms();
    createIngestQueueAlarms();
    createDeliveryAlarms();

    this.dashboard = new cloudwatch.Dashboard(
      `${name}-dashboard`,
      applyTransform<cloudwatch.DashboardArgs>(
        {
          name: physicalName("operations"),
          widgets: [...apiRows(), ...businessRows(), ...queueRows(), ...deliveryRows(), ...functionRows(), ...tableRows(), ...consumerRows(), ...pipelineRows()],
        },
        args.transform?.dashboard,
      ),
      parent,
    );

    this.dashboardUrl = this.dashboard.url;
    this.alarmTopicArn = this.topic.arn;
    this.registerOutputs({ dashboardUrl: this.dashboardUrl, alarmTopicArn: this.alarmTopicArn });

    function apiMetric(metricName: string, statistic: cloudwatch.MetricStatistic = "Sum") {
      return new cloudwatch.Metric({ namespace: "AWS/ApiGateway", name: metricName, dimensions: apiDimensions, statistic, period: 60 });
    }

    function createServerErrorAlarm(): void {
      const query = (id: string, metricName: string) => ({
        id,
        metric: { namespace: "AWS/ApiGateway", metricName, dimensions: apiDimensions, stat: "Sum", period: 60 },
        returnData: false,
      });
      alarm("api-5xx-rate", `At least ${errorRate.percent}% of API requests answered 5xx.`, "api-5xx-rate", {
        metricQueries: [
          query("requests", "Count"),
          query("errors", "5xx"),
          {
            id: "rate",
            label: "5xx rate (%)",
            expression: `IF(requests >= ${errorRate.minRequests}, 100 * FILL(errors, 0) / requests, 0)`,
            returnData: true,
          },
        ],
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: errorRate.percent,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      });
    }

    function createFunctionAlarms(): void {
      for (const { label, fn } of functions) {
        alarm(`${label}-errors`, `The ${label} function failed (crash, timeout or out of memory).`, "function-errors", {
          ...fromMetric(lambdaMetrics.errors({ function: fn, statistic: "Sum", period: 300 })),
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
        });
        alarm(`${label}-throttles`, `Lambda refused to run the ${label} function (concurrency exhausted).`, "function-throttles", {
          ...fromMetric(lambdaMetrics.throttles({ function: fn, statistic: "Sum", period: 300 })),
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
        });
      }
    }

    function createDeadLetterAlarms(): void {
      for (const consumer of consumers) {
        if (!consumer.deadLetterQueue) continue;
        alarm(
          `consumer-${consumer.consumerName}-dlq-not-empty`,
          `Events the ${consumer.consumerName} consumer could not process are waiting in its dead-letter queue.`,
          "dead-letter-queue-not-empty",
          {
            ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: consumer.deadLetterQueue, statistic: "Maximum", period: 60 })),
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
            evaluationPeriods: 1,
          },
        );
      }
    }

    function stateMachineMetric(pipeline: EventPipeline, metricName: string) {
      return new cloudwatch.Metric({ namespace: "AWS/States", name: metricName, dimensions: { StateMachineArn: pipeline.stateMachine.arn }, statistic: "Sum", period: 60 });
    }

    function createPipelineAlarms(): void {
      for (const pipeline of args.pipelines ?? []) {
        const label = `pipeline-${pipeline.pipelineName}`;
        alarm(`${label}-failed-executions`, `Executions of the ${pipeline.pipelineName} pipeline failed outright (their messages return to the buffer).`, "pipeline-failed-executions", {
          ...fromMetric(stateMachineMetric(pipeline, "ExecutionsFailed").withPeriod(300)),
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
        });
        alarm(`${label}-failure-queue-not-empty`, `Events of the ${pipeline.pipelineName} pipeline failed a stage and wait in its failure queue.`, "pipeline-failure-queue-not-empty", {
          ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: pipeline.failureQueue, statistic: "Maximum", period: 60 })),
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
        });
        alarm(`${label}-undelivered-not-empty`, `SNS could not deliver messages of the ${pipeline.pipelineName} pipeline's topic to its buffer; they wait in the subscription's dead-letter queue.`, "pipeline-undelivered-queue-not-empty", {
          ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: pipeline.undeliveredQueue, statistic: "Maximum", period: 60 })),
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
        });
      }
    }

    function pipelineRows(): cloudwatch.RowWidget[] {
      const pipelines = args.pipelines ?? [];
      if (pipelines.length === 0) return [];
      return [
        header("## SNS pipelines"),
        new cloudwatch.RowWidget(
          graph(
            "Executions",
            pipelines.flatMap((p) => ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"].map((m) => stateMachineMetric(p, m).withLabel(`${p.pipelineName} ${m.replace("Executions", "").toLowerCase()}`))),
            12,
          ),
          graph(
            "Buffer and failure queue depth",
            pipelines.flatMap((p) => [
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: p.buffer, statistic: "Maximum", period: 60 }).withLabel(`${p.pipelineName} buffer`),
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: p.failureQueue, statistic: "Maximum", period: 60 }).withLabel(`${p.pipelineName} failed`),
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: p.undeliveredQueue, statistic: "Maximum", period: 60 }).withLabel(`${p.pipelineName} undelivered`),
            ]),
            12,
          ),
        ),
      ];
    }

    function createIngestQueueAlarms(): void {
      if (!queue) return;
      alarm("ingest-dlq-not-empty", "Events the processor could not store are waiting in the ingest dead-letter queue.", "ingest-dlq-not-empty", {
        ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: queue.deadLetterQueue, statistic: "Maximum", period: 60 })),
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: 1,
      });
      alarm(
        "ingest-queue-age",
        `An accepted event has waited more than ${queueAgeAlarmSeconds} s in the ingest queue (processor failing or behind).`,
        "ingest-queue-age",
        {
          ...fromMetric(sqsMetrics.approximateAgeOfOldestMessage({ queue: queue.queue, statistic: "Maximum", period: 60 })),
          comparisonOperator: "GreaterThanThreshold",
          threshold: queueAgeAlarmSeconds,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
        },
      );
    }

    function queueRows(): cloudwatch.RowWidget[] {
      if (!queue) return [];
      const q = queue.queue;
      const processorName = queue.processor.function.name;
      const processorCount = (metricName: string, label: string) =>
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          name: metricName,
          dimensions: { [METRIC_DIMENSIONS.function]: processorName },
          statistic: "Sum",
          period: 60,
          label,
        });
      return [
        header("## Ingest queue (queued mode)"),
        new cloudwatch.RowWidget(
          graph(
            "Queue depth",
            [
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: q, statistic: "Maximum", period: 60 }).withLabel("waiting"),
              sqsMetrics.approximateNumberOfMessagesNotVisible({ queue: q, statistic: "Maximum", period: 60 }).withLabel("in flight"),
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: queue.deadLetterQueue, statistic: "Maximum", period: 60 }).withLabel("dead-letter"),
            ],
            6,
          ),
          graph("Oldest message age (s)", [sqsMetrics.approximateAgeOfOldestMessage({ queue: q, statistic: "Maximum", period: 60 }).withLabel("ingest queue")], 6),
          graph(
            "Throughput (messages)",
            [
              sqsMetrics.numberOfMessagesSent({ queue: q, statistic: "Sum", period: 60 }).withLabel("sent"),
              sqsMetrics.numberOfMessagesDeleted({ queue: q, statistic: "Sum", period: 60 }).withLabel("processed"),
            ],
            6,
          ),
          graph(
            "Processor outcomes",
            [
              processorCount(PROCESSOR_METRICS.stored, "stored"),
              processorCount(PROCESSOR_METRICS.duplicates, "duplicates"),
              processorCount(PROCESSOR_METRICS.retried, "retried"),
              processorCount(PROCESSOR_METRICS.unreadable, "unreadable"),
            ],
            6,
          ),
        ),
      ];
    }

    function deliveryMetric(metricName: string, subscription: string, statistic: cloudwatch.MetricStatistic = "Sum") {
      return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, name: metricName, dimensions: { [DELIVERY_METRIC_DIMENSION]: subscription }, statistic, period: 60 });
    }

    function createDeliveryAlarms(): void {
      if (!deliveries) return;
      for (const sub of deliveries.subscriptions) {
        alarm(`delivery-${sub.name}-failed`, `Deliveries to subscription "${sub.name}" failed after their last attempt.`, "delivery-failed", {
          ...fromMetric(deliveryMetric(DELIVERY_METRICS.failed, sub.name).withPeriod(300)),
          comparisonOperator: "GreaterThanThreshold",
          threshold: 0,
          evaluationPeriods: 1,
        });
        alarm(
          `delivery-${sub.name}-backlog-age`,
          `An event has waited more than ${deliveryAgeAlarmSeconds} s for delivery to subscription "${sub.name}" (receiver failing or deliverer behind).`,
          "delivery-backlog-age",
          {
            ...fromMetric(sqsMetrics.approximateAgeOfOldestMessage({ queue: sub.queue, statistic: "Maximum", period: 60 })),
            comparisonOperator: "GreaterThanThreshold",
            threshold: deliveryAgeAlarmSeconds,
            evaluationPeriods: 3,
            datapointsToAlarm: 2,
          },
        );
        alarm(`delivery-${sub.name}-dlq-not-empty`, `Deliveries to subscription "${sub.name}" the deliverer could not handle wait in its dead-letter queue.`, "delivery-dlq-not-empty", {
          ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: sub.deadLetterQueue, statistic: "Maximum", period: 60 })),
          comparisonOperator: "GreaterThanThreshold",
          threshold: 0,
          evaluationPeriods: 1,
        });
      }
      alarm("delivery-dispatch-failed", "Stored events the delivery dispatcher could not queue wait in its failure queue (their stream coordinates).", "delivery-dispatch-failed", {
        ...fromMetric(sqsMetrics.approximateNumberOfMessagesVisible({ queue: deliveries.dispatchFailureQueue, statistic: "Maximum", period: 60 })),
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: 1,
      });
    }

    function deliveryRows(): cloudwatch.RowWidget[] {
      if (!deliveries) return [];
      const subs = deliveries.subscriptions;
      const each = (metric: (sub: (typeof subs)[number]) => cloudwatch.Metric, suffix = "") => subs.map((sub) => metric(sub).withLabel(`${sub.name}${suffix}`));
      return [
        header("## Deliveries (per subscription)"),
        new cloudwatch.RowWidget(
          graph("Delivered", each((sub) => deliveryMetric(DELIVERY_METRICS.delivered, sub.name)), 6),
          graph(
            "Failed deliveries and failed attempts",
            [...each((sub) => deliveryMetric(DELIVERY_METRICS.failed, sub.name), " failed"), ...each((sub) => deliveryMetric(DELIVERY_METRICS.attemptsFailed, sub.name), " attempts failed")],
            6,
          ),
          graph(
            "Attempt latency (ms)",
            [
              ...each((sub) => deliveryMetric(DELIVERY_METRICS.latency, sub.name).withExtendedStatistic(50), " p50"),
              ...each((sub) => deliveryMetric(DELIVERY_METRICS.latency, sub.name).withExtendedStatistic(99), " p99"),
            ],
            6,
          ),
          graph("Oldest undelivered (s)", each((sub) => sqsMetrics.approximateAgeOfOldestMessage({ queue: sub.queue, statistic: "Maximum", period: 60 })), 6),
        ),
        new cloudwatch.RowWidget(
          graph(
            "Queue depth",
            [
              ...each((sub) => sqsMetrics.approximateNumberOfMessagesVisible({ queue: sub.queue, statistic: "Maximum", period: 60 }), " waiting"),
              ...each((sub) => sqsMetrics.approximateNumberOfMessagesNotVisible({ queue: sub.queue, statistic: "Maximum", period: 60 }), " in flight or retrying"),
            ],
            12,
          ),
          graph(
            "Dead letters",
            [
              ...each((sub) => sqsMetrics.approximateNumberOfMessagesVisible({ queue: sub.deadLetterQueue, statistic: "Maximum", period: 60 }), " dead-letter"),
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: deliveries.dispatchFailureQueue, statistic: "Maximum", period: 60 }).withLabel("dispatch failed"),
            ],
            6,
          ),
          graph("Dispatcher iterator age (max, ms)", [lambdaMetrics.iteratorAge({ function: deliveries.dispatcher.function, statistic: "Maximum", period: 60 }).withLabel("dispatcher")], 6),
        ),
      ];
    }

    function header(markdown: string): cloudwatch.RowWidget {
      return new cloudwatch.RowWidget(new cloudwatch.TextWidget({ markdown, width: FULL_WIDTH, height: 1 }));
    }

    function graph(title: string, metrics: cloudwatch.WidgetMetric[], width: number): cloudwatch.LineGraphMetricWidget {
      return new cloudwatch.LineGraphMetricWidget({ title, metrics, width, height: 6, period: 60 });
    }

    function apiRows(): cloudwatch.RowWidget[] {
      return [
        header("## API"),
        new cloudwatch.RowWidget(
          graph("Requests", [apiMetric("Count").withLabel("requests")], 6),
          graph("4xx and 5xx", [apiMetric("4xx").withLabel("4xx"), apiMetric("5xx").withLabel("5xx")], 6),
          graph(
            "Latency (ms)",
            [apiMetric("Latency").withExtendedStatistic(50).withLabel("p50"), apiMetric("Latency").withExtendedStatistic(99).withLabel("p99")],
            6,
          ),
          graph(
            "Integration latency (ms)",
            [
              apiMetric("IntegrationLatency").withExtendedStatistic(50).withLabel("p50"),
              apiMetric("IntegrationLatency").withExtendedStatistic(99).withLabel("p99"),
            ],
            6,
          ),
        ),
      ];
    }

    function businessRows(): cloudwatch.RowWidget[] {
      if (ingestFunctionName === undefined) return [];
      const business = (metricName: string, label: string) =>
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          name: metricName,
          dimensions: { [METRIC_DIMENSIONS.function]: ingestFunctionName },
          statistic: "Sum",
          period: 60,
          label,
        });
      const byReason = new cloudwatch.ExpressionWidgetMetric(
        pulumi.interpolate`SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.function},${METRIC_DIMENSIONS.reason}} MetricName="${INGEST_METRICS.rejected}" ${METRIC_DIMENSIONS.function}="${ingestFunctionName}"', 'Sum', 60)`,
        "rejected:",
      );
      return [
        header("## Events (from the ingest handler's embedded metrics)"),
        new cloudwatch.RowWidget(
          graph(
            "Accepted, duplicates, rejected",
            [business(INGEST_METRICS.accepted, "accepted"), business(INGEST_METRICS.duplicates, "duplicates"), business(INGEST_METRICS.rejected, "rejected")],
            12,
          ),
          graph("Rejected by reason", [byReason], 12),
        ),
      ];
    }

    function functionRows(): cloudwatch.RowWidget[] {
      const each = (metric: (fn: aws.lambda.Function) => cloudwatch.Metric) => functions.map(({ label, fn }) => metric(fn).withLabel(label));
      return [
        header("## Functions"),
        new cloudwatch.RowWidget(
          graph("Errors", each((fn) => lambdaMetrics.errors({ function: fn, statistic: "Sum", period: 60 })), 6),
          graph("Throttles", each((fn) => lambdaMetrics.throttles({ function: fn, statistic: "Sum", period: 60 })), 6),
          graph("Concurrent executions (max)", each((fn) => lambdaMetrics.concurrentExecutions({ function: fn, statistic: "Maximum", period: 60 })), 6),
          graph("Duration p99 (ms)", each((fn) => lambdaMetrics.duration({ function: fn, extendedStatistic: 99, period: 60 })), 6),
        ),
        new cloudwatch.RowWidget(graph("Duration p50 (ms)", each((fn) => lambdaMetrics.duration({ function: fn, extendedStatistic: 50, period: 60 })), FULL_WIDTH)),
      ];
    }

    function tableRows(): cloudwatch.RowWidget[] {
      const table = args.store.table;
      const operations = [...new Set(Object.values(HANDLERS).flatMap((h) => h.eventsTableActions.map((a) => a.replace("dynamodb:", ""))))].sort();
      return [
        header("## Events table"),
        new cloudwatch.RowWidget(
          graph("Consumed write units", [dynamodbMetrics.consumedWriteCapacityUnits({ table, statistic: "Sum", period: 60 }).withLabel("table")], 6),
          graph("Consumed read units", [dynamodbMetrics.consumedReadCapacityUnits({ table, statistic: "Sum", period: 60 }).withLabel("table")], 6),
          graph(
            "Throttled requests",
            operations.map((operation) =>
              dynamodbMetrics
                .throttledRequests({ table, operation: operation as dynamodbMetrics.DynamodbMetricChange["operation"], statistic: "Sum", period: 60 })
                .withLabel(operation),
            ),
            6,
          ),
          graph(
            "Status index write throttles",
            [
              dynamodbMetrics
                .writeThrottleEvents({ table, globalSecondaryIndexName: STATUS_INDEX.name, statistic: "Sum", period: 60 })
                .withLabel("status index"),
            ],
            6,
          ),
        ),
      ];
    }

    function consumerRows(): cloudwatch.RowWidget[] {
      if (consumers.length === 0) return [];
      const queues = consumers.filter((c) => c.deadLetterQueue !== undefined);
      return [
        header("## Stream consumers"),
        new cloudwatch.RowWidget(
          graph(
            "Iterator age (max, ms)",
            consumers.map((c) => lambdaMetrics.iteratorAge({ function: c.function, statistic: "Maximum", period: 60 }).withLabel(c.consumerName)),
            12,
          ),
          graph(
            "Dead-letter queue depth",
            queues.map((c) =>
              sqsMetrics.approximateNumberOfMessagesVisible({ queue: c.deadLetterQueue!, statistic: "Maximum", period: 60 }).withLabel(c.consumerName),
            ),
            12,
          ),
        ),
      ];
    }
  }
}

function watchedFunctions(api: EventIngestionApi, consumers: readonly EventConsumer[], queue: IngestQueue | undefined, deliveries: Deliveries | undefined): WatchedFunction[] {
  const handlers = Object.entries(api.functions) as [string, HandlerFunction][];
  return [
    ...handlers.map(([label, handler]) => ({ label, fn: handler.function })),
    { label: "authorizer", fn: api.authorizer.handler.function },
    ...(queue ? [{ label: "processor", fn: queue.processor.function }] : []),
    ...(deliveries ? [{ label: "delivery-dispatch", fn: deliveries.dispatcher.function }, { label: "deliverer", fn: deliveries.deliverer.function }] : []),
    ...consumers.map((c) => ({ label: `consumer-${c.consumerName}`, fn: c.function })),
  ];
}

function normalizeEmail(email: string | undefined): string | undefined {
  if (email === undefined || email === "") return undefined;
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new Error(`Observability: alarmEmail must be an e-mail address like oncall@example.com, got "${email}"`);
  }
  return email;
}

function normalizeErrorRate(args: ObservabilityArgs): { percent: number; minRequests: number } {
  const percent = args.serverErrorRatePercent ?? 1;
  if (!(percent > 0 && percent <= 100)) {
    throw new Error(`Observability: serverErrorRatePercent must be more than 0 and at most 100, got ${percent}`);
  }
  return { percent, minRequests: requireInteger("Observability", "serverErrorMinRequests", args.serverErrorMinRequests ?? 20, 1, 1_000_000) };
}
