/**
 * Deliveries (config `subscriptions`): signed pushes of stored events to subscribers, on the engine
 * docs/adr/0033 chose.
 *
 *   events table ──stream (INSERT only)──▶ dispatcher λ ──SendMessage──▶ delivery queue, one per subscription
 *        │                        └──(batch still failing)──▶ dispatch failure queue      │
 *        │                                                        event source mapping, maximumConcurrency each
 *        ◀──────────── delivery fields ─────────────── deliverer λ ◀──────────────────────┘
 *                                                     │  └── signs with its SSM SecureString, POSTs, records the attempt
 *                                   deliveries table ◀┘      in the deliveries table, retries by ChangeMessageVisibility
 *   delivery queue ──(maxReceiveCount receives)──▶ its dead-letter queue
 *
 * Isolation: each subscription has its own queue and its own event source mapping, capped at
 * `concurrency` deliverer invocations, so a slow or dead receiver fills its own queue and holds
 * its own pollers, never another subscription's.
 *
 * The runtime (handlers/deliveryDispatch.ts, handlers/deliverer.ts) and its facts
 * (DELIVERY_HANDLERS in handlers/routes.ts, handlers/lib/delivery/subscriptions.ts) belong to the
 * handlers; this component only builds what they run on and grants each exactly what its spec says.
 * Nothing here exists when the stack has no subscription: index.ts creates the component only then.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_DELIVERY_LOG_DAYS,
  DEFAULT_DELIVERY_MAX_ATTEMPTS,
  DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  DELIVERY_SCHEDULE_SECONDS,
  deliveryEnvironment,
  encodeSubscriptionSecrets,
  subscriptionSecretParameterName,
  subscriptionSecretProblem,
  SUBSCRIPTION_NAME,
  type DeliverySettings,
  type Subscription,
} from "../handlers/lib/delivery/subscriptions";
import { DELIVERIES_TABLE, EVENTS_TABLE, STATUS_INDEX } from "../handlers/lib/primitives/tables";
import {
  DELIVERY_BATCH_SIZE,
  DELIVERY_HANDLERS,
  DELIVERY_QUEUE,
  deliveryQueueMaxReceiveCount,
  type DeliveriesTableAction, type DeliveryQueueAction, type EventsTableAction, type HandlerSpec } from "../handlers/routes";
import { NEW_EVENTS_FILTER } from "./EventConsumer";
import { tableKeys, type EventStore } from "./EventStore";
import { createHandlerFunction, type FunctionArgs, type GrantStatement, type HandlerFunction, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

/** Time the deliverer needs besides the POST: the secret, the event, the attempt record (s). */
export const DELIVERER_BOOKKEEPING_SECONDS = 10;
/** Retries of a failing dispatcher batch (bisected each time) before its stream coordinates go to the failure queue. */
export const DISPATCH_RETRY_ATTEMPTS = 10;
export const DISPATCH_BATCH_SIZE = 100;
/**
 * The events table's attributes a delivery function may name in an UpdateItem (IAM condition key
 * `dynamodb:Attributes`, which counts the key too): the delivery fields the deliverer and replay
 * write (handlers/lib/delivery/deliveryLog.ts, EventDeliveryFields) and nothing of the event itself.
 */
export const EVENT_DELIVERY_ATTRIBUTES = [EVENTS_TABLE.partitionKey.name, "status", STATUS_INDEX.partitionKey.name, "delivered_at", "delivery_attempts"] as const;

export interface DeliverySubscriptionArgs extends Subscription {
  /** The Standard Webhooks signing secret (`whsec_…`); pass a Pulumi secret (`config.requireSecret`). */
  secret: pulumi.Input<string>;
  /** The secret being rotated out, still used to sign until it is removed. @default undefined */
  previousSecret?: pulumi.Input<string>;
}

export interface DeliveriesArgs {
  /** The events table: its stream (NEW_IMAGE) feeds the dispatcher; create it with `stream: true`. */
  store: EventStore;
  /** At least one; parse config with `parseSubscriptions` (handlers/lib/delivery/subscriptions.ts). */
  subscriptions: DeliverySubscriptionArgs[];
  /**
   * Attempts of one delivery before it is `failed`, 1..8 (the schedule's length).
   * @default 8
   */
  maxAttempts?: number;
  /**
   * Seconds one attempt may take (connect, send, answer); must leave the deliverer's bookkeeping
   * room inside its Lambda timeout.
   * @default 15
   */
  timeoutSeconds?: number;
  /**
   * Deliverer invocations at once per subscription (each event source mapping's
   * `scalingConfig.maximumConcurrency`, 2..1000); a receiver sees at most this × 10 requests at once.
   * @default 2
   */
  concurrency?: number;
  /** Days attempt records are kept (the deliveries table's TTL). @default 30 */
  logDays?: number;
  /** Point-in-time recovery on the deliveries table. @default false */
  enablePitr?: boolean;
  /** @default false */
  deletionProtection?: boolean;
  /** Largest stored event, for the functions' environment. @default 65536 */
  maxEventBytes?: number;
  /** @default 14 */
  logRetentionDays?: number;
  /**
   * The stack's log key (config logEncryption): the dispatcher's and deliverer's log groups are
   * encrypted with it and named in its policy.
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** @default false */
  tracing?: boolean;
  transform?: {
    table?: Transform<aws.dynamodb.TableArgs>;
    queue?: Transform<aws.sqs.QueueArgs>;
    deadLetterQueue?: Transform<aws.sqs.QueueArgs>;
    parameter?: Transform<aws.ssm.ParameterArgs>;
    queueMapping?: Transform<aws.lambda.EventSourceMappingArgs>;
    streamMapping?: Transform<aws.lambda.EventSourceMappingArgs>;
    dispatcher?: FunctionArgs["transform"];
    deliverer?: FunctionArgs["transform"];
  };
}

/** One subscription's resources. */
export interface SubscriptionResources {
  name: string;
  queue: aws.sqs.Queue;
  deadLetterQueue: aws.sqs.Queue;
  parameter: aws.ssm.Parameter;
  /** The deliverer's event source mapping on this queue. */
  mapping: aws.lambda.EventSourceMapping;
}

export class Deliveries extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly subscriptions: SubscriptionResources[];
  readonly dispatcher: HandlerFunction;
  readonly deliverer: HandlerFunction;
  /** Stream batches the dispatcher could not handle after its retries (their stream coordinates). */
  readonly dispatchFailureQueue: aws.sqs.Queue;
  readonly streamMapping: aws.lambda.EventSourceMapping;
  /** The delivery functions' environment (deliveryEnvironment): queue URLs and parameter names, no secret. */
  readonly environment: Record<string, pulumi.Output<string>>;
  readonly maxAttempts: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  private readonly store: EventStore;
  private readonly subscriptionQueues: aws.sqs.Queue[];
  private readonly subscriptionParameters: aws.ssm.Parameter[];

  constructor(name: string, args: DeliveriesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:Deliveries", name, {}, opts);
    const settings = normalize(args);
    const streamArn = requireStream(args.store);
    this.store = args.store;
    this.maxAttempts = settings.maxAttempts;
    this.visibilityTimeoutSeconds = settings.visibilityTimeoutSeconds;
    this.maxReceiveCount = settings.maxReceiveCount;

    this.table = createTable(this);
    const queues = args.subscriptions.map((sub) => createQueues(this, sub));
    const parameters = args.subscriptions.map((sub) => createParameter(this, sub));
    // Before the functions: their grants and environment name the queues and parameters.
    this.subscriptionQueues = queues.map((q) => q.queue);
    this.subscriptionParameters = parameters;
    this.dispatchFailureQueue = createDispatchFailureQueue(this);
    this.environment = createEnvironment(this, queues.map((q) => q.queue.url));
    this.dispatcher = createDispatcher(this);
    this.deliverer = createDeliverer(this);
    this.streamMapping = createStreamMapping(this);
    this.subscriptions = args.subscriptions.map((sub, i) => ({
      name: sub.name,
      ...queues[i]!,
      parameter: parameters[i]!,
      mapping: createQueueMapping(this, sub, queues[i]!.queue),
    }));

    this.registerOutputs({
      tableName: this.table.name,
      queueUrls: queues.map((q) => q.queue.url),
      dispatchFailureQueueUrl: this.dispatchFailureQueue.url,
    });

    function createTable(parent: Deliveries): aws.dynamodb.Table {
      return new aws.dynamodb.Table(
        `${name}-table`,
        applyTransform<aws.dynamodb.TableArgs>(
          {
            name: physicalName(DELIVERIES_TABLE.purpose, "dynamodbTable"),
            billingMode: "PAY_PER_REQUEST",
            ...tableKeys(DELIVERIES_TABLE),
            // Always on: the delivery log is bounded by logDays (docs/adr/0033).
            ttl: { attributeName: DELIVERIES_TABLE.ttlAttribute!, enabled: true },
            pointInTimeRecovery: { enabled: settings.enablePitr },
            deletionProtectionEnabled: settings.deletionProtection,
            serverSideEncryption: { enabled: true },
          },
          args.transform?.table,
        ),
        { parent },
      );
    }

    function createQueues(parent: Deliveries, sub: DeliverySubscriptionArgs): { queue: aws.sqs.Queue; deadLetterQueue: aws.sqs.Queue } {
      const deadLetterQueue = new aws.sqs.Queue(
        `${name}-${sub.name}-dlq`,
        applyTransform<aws.sqs.QueueArgs>(
          { name: physicalName(`delivery-${sub.name}-dlq`, "sqsQueue"), messageRetentionSeconds: DELIVERY_QUEUE.deadLetterRetentionSeconds, sqsManagedSseEnabled: true },
          args.transform?.deadLetterQueue,
        ),
        { parent },
      );
      const queue = new aws.sqs.Queue(
        `${name}-${sub.name}-queue`,
        applyTransform<aws.sqs.QueueArgs>(
          {
            name: physicalName(`delivery-${sub.name}`, "sqsQueue"),
            messageRetentionSeconds: DELIVERY_QUEUE.retentionSeconds,
            visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
            sqsManagedSseEnabled: true,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: settings.maxReceiveCount }),
          },
          args.transform?.queue,
        ),
        { parent },
      );
      new aws.sqs.RedriveAllowPolicy(
        `${name}-${sub.name}-dlq-redrive-allow`,
        { queueUrl: deadLetterQueue.url, redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] }) },
        { parent },
      );
      requireSecureTransport(parent, `${sub.name}-queue`, queue);
      requireSecureTransport(parent, `${sub.name}-dlq`, deadLetterQueue);
      return { queue, deadLetterQueue };
    }

    function createDispatchFailureQueue(parent: Deliveries): aws.sqs.Queue {
      const queue = new aws.sqs.Queue(
        `${name}-dispatch-failed`,
        applyTransform<aws.sqs.QueueArgs>(
          { name: physicalName("delivery-dispatch-failed", "sqsQueue"), messageRetentionSeconds: DELIVERY_QUEUE.deadLetterRetentionSeconds, sqsManagedSseEnabled: true },
          args.transform?.deadLetterQueue,
        ),
        { parent },
      );
      requireSecureTransport(parent, "dispatch-failed", queue);
      return queue;
    }

    function requireSecureTransport(parent: Deliveries, slug: string, queue: aws.sqs.Queue): void {
      new aws.sqs.QueuePolicy(
        `${name}-${slug}-policy`,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queue.arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ],
          }),
        },
        { parent },
      );
    }

    function createParameter(parent: Deliveries, sub: DeliverySubscriptionArgs): aws.ssm.Parameter {
      return new aws.ssm.Parameter(
        `${name}-${sub.name}-secret`,
        applyTransform<aws.ssm.ParameterArgs>(
          {
            name: subscriptionSecretParameterName(pulumi.getProject(), pulumi.getStack(), sub.name),
            description: `Standard Webhooks signing secrets of subscription "${sub.name}"; JSON array, current first`,
            type: "SecureString", // encrypted with the AWS-managed key aws/ssm
            tier: "Standard",
            value: secretValue(sub),
          },
          args.transform?.parameter,
        ),
        { parent },
      );
    }

    function createEnvironment(parent: Deliveries, queueUrls: pulumi.Output<string>[]): Record<string, pulumi.Output<string>> {
      const describe = (tableName: string, urls: string[]): DeliverySettings => ({
        subscriptions: args.subscriptions.map((sub, i) => ({
          name: sub.name,
          url: sub.url,
          filters: sub.filters,
          queueUrl: urls[i] ?? "",
          secretParameter: subscriptionSecretParameterName(pulumi.getProject(), pulumi.getStack(), sub.name),
        })),
        deliveriesTable: tableName,
        maxAttempts: settings.maxAttempts,
        timeoutSeconds: settings.timeoutSeconds,
        logDays: settings.logDays,
      });
      const all = pulumi.all([parent.table.name, ...queueUrls]).apply(([tableName, ...urls]) => deliveryEnvironment(describe(tableName!, urls as string[])));
      // The keys do not depend on the Outputs' values: one Output per variable, no resource inside apply.
      return Object.fromEntries(Object.keys(deliveryEnvironment(describe("", []))).map((key) => [key, all.apply((env) => env[key]!)]));
    }

    function createDispatcher(parent: Deliveries): HandlerFunction {
      const spec: HandlerSpec = DELIVERY_HANDLERS.deliveryDispatch;
      return createHandlerFunction(
        `${name}-dispatcher`,
        {
          entry: spec.entry,
          purpose: "delivery-dispatch",
          description: spec.description,
          environment: environmentFor(parent, spec),
          grants: [
            { Effect: "Allow", Action: [...spec.eventsStreamActions!], Resource: [streamArn] },
            ...parent.grantEvents(spec.eventsTableActions),
            ...parent.grantsFor(spec),
            // The stream mapping's on-failure destination is sent to with the function's role.
            { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [parent.dispatchFailureQueue.arn] },
          ],
          memoryMb: spec.memoryMb,
          timeoutSeconds: spec.timeoutSeconds,
          logRetentionDays: settings.logRetentionDays,
          ...(args.logKey ? { logKey: args.logKey } : {}),
          tracing: settings.tracing,
          ...(args.transform?.dispatcher ? { transform: args.transform.dispatcher } : {}),
        },
        parent,
      );
    }

    function createDeliverer(parent: Deliveries): HandlerFunction {
      const spec: HandlerSpec = DELIVERY_HANDLERS.deliverer;
      return createHandlerFunction(
        `${name}-deliverer`,
        {
          entry: spec.entry,
          purpose: "deliverer",
          description: spec.description,
          environment: environmentFor(parent, spec),
          grants: [...parent.grantEvents(spec.eventsTableActions), ...parent.grantsFor(spec), ...args.store.grantPayloadObjects(spec.payloadObjectActions)],
          memoryMb: spec.memoryMb,
          timeoutSeconds: spec.timeoutSeconds,
          logRetentionDays: settings.logRetentionDays,
          ...(args.logKey ? { logKey: args.logKey } : {}),
          tracing: settings.tracing,
          ...(args.transform?.deliverer ? { transform: args.transform.deliverer } : {}),
        },
        parent,
      );
    }

    function environmentFor(parent: Deliveries, spec: HandlerSpec): Record<string, pulumi.Input<string>> {
      return {
        ...(spec.eventsTableActions.length > 0 ? args.store.functionEnvironment(settings.maxEventBytes) : {}),
        ...(spec.deliveryEnvironment ? parent.environment : {}),
      };
    }

    function createStreamMapping(parent: Deliveries): aws.lambda.EventSourceMapping {
      return new aws.lambda.EventSourceMapping(
        `${name}-stream`,
        applyTransform<aws.lambda.EventSourceMappingArgs>(
          {
            eventSourceArn: streamArn,
            functionName: parent.dispatcher.function.arn,
            // A subscription gets the events stored from its creation on; older ones through replay.
            startingPosition: "LATEST",
            batchSize: DISPATCH_BATCH_SIZE,
            filterCriteria: { filters: [{ pattern: NEW_EVENTS_FILTER }] },
            functionResponseTypes: ["ReportBatchItemFailures"],
            bisectBatchOnFunctionError: true,
            maximumRetryAttempts: DISPATCH_RETRY_ATTEMPTS,
            destinationConfig: { onFailure: { destinationArn: parent.dispatchFailureQueue.arn } },
          },
          args.transform?.streamMapping,
        ),
        // functionName references the function, which waits for its policy.
        { parent },
      );
    }

    function createQueueMapping(parent: Deliveries, sub: DeliverySubscriptionArgs, queue: aws.sqs.Queue): aws.lambda.EventSourceMapping {
      return new aws.lambda.EventSourceMapping(
        `${name}-${sub.name}-source`,
        applyTransform<aws.lambda.EventSourceMappingArgs>(
          {
            eventSourceArn: queue.arn,
            functionName: parent.deliverer.function.arn,
            batchSize: DELIVERY_BATCH_SIZE,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: settings.concurrency },
          },
          args.transform?.queueMapping,
        ),
        { parent },
      );
    }

    /** The parameter value as a Pulumi secret; a secret no Standard Webhooks verifier could use fails the preview, unquoted. */
    function secretValue(sub: DeliverySubscriptionArgs): pulumi.Output<string> {
      return pulumi.secret(
        pulumi.all([sub.secret, sub.previousSecret]).apply(([secret, previous]) => subscriptionParameterValue(sub.name, secret, previous)),
      );
    }
  }

  /** Statements for exactly the deliveries-table and delivery-queue actions `spec` declares, and its secrets. */
  grantsFor(spec: HandlerSpec): GrantStatement[] {
    return [
      ...this.grantTable(spec.deliveriesTableActions ?? []),
      ...this.grantQueues(spec.deliveryQueueActions ?? []),
      ...(spec.readsSubscriptionSecrets ? this.grantSecrets() : []),
    ];
  }

  /**
   * `actions` on the events table as EventStore grants them, except UpdateItem, which may name only
   * the delivery fields (`EVENT_DELIVERY_ATTRIBUTES`): a delivery function cannot rewrite an event.
   */
  grantEvents(actions: readonly EventsTableAction[]): GrantStatement[] {
    const updates = actions.includes("dynamodb:UpdateItem");
    return [
      ...this.store.grant(actions.filter((a) => a !== "dynamodb:UpdateItem")),
      ...(updates
        ? [
            {
              Effect: "Allow" as const,
              Action: ["dynamodb:UpdateItem"],
              Resource: [this.store.tableArn],
              Condition: { "ForAllValues:StringEquals": { "dynamodb:Attributes": [...EVENT_DELIVERY_ATTRIBUTES] } },
            },
          ]
        : []),
    ];
  }

  /** Exactly `actions` on the deliveries table; empty when `actions` is. */
  grantTable(actions: readonly DeliveriesTableAction[]): GrantStatement[] {
    return actions.length === 0 ? [] : [{ Effect: "Allow", Action: [...actions], Resource: [this.table.arn] }];
  }

  /** Exactly `actions` on every subscription's delivery queue (not their dead-letter queues). */
  grantQueues(actions: readonly DeliveryQueueAction[]): GrantStatement[] {
    return actions.length === 0 ? [] : [{ Effect: "Allow", Action: [...actions], Resource: this.queueArns() }];
  }

  /** `ssm:GetParameter` on exactly the subscriptions' secret parameters (aws/ssm key: no kms grant needed). */
  grantSecrets(): GrantStatement[] {
    return [{ Effect: "Allow", Action: ["ssm:GetParameter"], Resource: this.parameterArns() }];
  }

  private queueArns(): pulumi.Output<string>[] {
    return this.subscriptionQueues.map((q) => q.arn);
  }

  private parameterArns(): pulumi.Output<string>[] {
    return this.subscriptionParameters.map((p) => p.arn);
  }
}

/**
 * A subscription's parameter value: its secrets as a JSON array, current first. A secret no
 * Standard Webhooks verifier could use fails here (at preview), naming the config key, never quoting it.
 */
export function subscriptionParameterValue(name: string, secret: string, previous?: string): string {
  const secrets = previous === undefined || previous === "" ? [secret] : [secret, previous];
  for (const [i, value] of secrets.entries()) {
    const problem = subscriptionSecretProblem(value);
    if (problem) throw new Error(`Deliveries: config ${i === 0 ? "subscriptionSecret" : "subscriptionPreviousSecret"}-${name}: ${problem}`);
  }
  return encodeSubscriptionSecrets(secrets);
}

function requireStream(store: EventStore): pulumi.Output<string> {
  if (store.streamArn === undefined) throw new Error("Deliveries: the events table has no stream; create the EventStore with stream: true when there are subscriptions");
  return store.streamArn;
}

function normalize(args: DeliveriesArgs) {
  const where = "Deliveries";
  if (args.subscriptions.length === 0) throw new Error(`${where}: needs at least one subscription (with none, create no Deliveries at all)`);
  const seen = new Set<string>();
  for (const sub of args.subscriptions) {
    if (!SUBSCRIPTION_NAME.test(sub.name)) throw new Error(`${where}: subscription name "${sub.name}" must match ${SUBSCRIPTION_NAME.source}`);
    if (seen.has(sub.name)) throw new Error(`${where}: subscription "${sub.name}" appears twice`);
    seen.add(sub.name);
  }
  const delivererTimeout = DELIVERY_HANDLERS.deliverer.timeoutSeconds;
  const timeoutSeconds = requireInteger(
    where,
    `timeoutSeconds (config deliveryTimeoutSeconds; the deliverer's Lambda timeout is ${delivererTimeout} s, ${DELIVERER_BOOKKEEPING_SECONDS} s of which are kept for its bookkeeping)`,
    args.timeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_SECONDS,
    1,
    delivererTimeout - DELIVERER_BOOKKEEPING_SECONDS,
  );
  const maxAttempts = requireInteger(where, "maxAttempts (config deliveryMaxAttempts)", args.maxAttempts ?? DEFAULT_DELIVERY_MAX_ATTEMPTS, 1, DELIVERY_SCHEDULE_SECONDS.length);
  return {
    maxAttempts,
    timeoutSeconds,
    // SQS's minimum for an event source mapping's maximumConcurrency is 2.
    concurrency: requireInteger(where, "concurrency (config deliveryConcurrency)", args.concurrency ?? DELIVERY_QUEUE.maximumConcurrency, 2, 1000),
    logDays: requireInteger(where, "logDays", args.logDays ?? DEFAULT_DELIVERY_LOG_DAYS, 1, 3650),
    enablePitr: args.enablePitr ?? false,
    deletionProtection: args.deletionProtection ?? false,
    maxEventBytes: requireInteger(where, "maxEventBytes", args.maxEventBytes ?? 65536, 1024, 10 * 1024 * 1024),
    logRetentionDays: args.logRetentionDays ?? 14,
    tracing: args.tracing ?? false,
    // The facts the local stack shares (handlers/routes.ts DELIVERY_QUEUE): 6 × the deliverer's timeout;
    // every attempt plus the receives that make none (a crash, secrets or storage unavailable), so such a
    // receive never cuts the schedule short. After its last attempt the deliverer ends the delivery
    // itself (`failed`) and deletes the message: the DLQ holds only what it could not handle at all.
    visibilityTimeoutSeconds: DELIVERY_QUEUE.visibilityTimeoutSeconds,
    maxReceiveCount: deliveryQueueMaxReceiveCount(maxAttempts),
  };
}
