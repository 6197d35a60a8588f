/**
 * THE route table. The Pulumi API component builds its routes, integrations and invoke
 * permissions from it, the local emulator dispatches with it, handlers read the scope a
 * route requires from it. Plain data: no Pulumi, no AWS SDK.
 */

/**
 * `ack` changes state, so a read-only key (a dashboard) cannot empty a consumer's inbox; `replay`
 * sends events to subscribers again, so it is a scope of its own too.
 */
export const SCOPES = ["ingest", "read", "ack", "replay"] as const;
export type Scope = (typeof SCOPES)[number];

/** DynamoDB actions a function may be granted on the events table (and its index, for Query). */
export type EventsTableAction =
  | "dynamodb:PutItem"
  | "dynamodb:BatchWriteItem"
  | "dynamodb:GetItem"
  | "dynamodb:BatchGetItem"
  | "dynamodb:Query"
  | "dynamodb:UpdateItem";

/**
 * S3 actions a function may be granted on the claim check's objects (`<bucket>/events/*`, ADR 0035):
 * writers put an event's payload object before its item, read a stored duplicate's, and delete an
 * object no item names after losing a race for an id; readers get. Queued-mode ingest and webhook
 * put a payload too large for a queue message before the message that names it (ADR 0043) and read
 * a stored duplicate's; they never delete (an unsent message's object expires with the lifecycle).
 */
export type PayloadObjectAction = "s3:PutObject" | "s3:GetObject" | "s3:DeleteObject";
const WRITES_PAYLOAD_OBJECTS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] as const satisfies readonly PayloadObjectAction[];
const QUEUES_PAYLOAD_OBJECTS = ["s3:PutObject", "s3:GetObject"] as const satisfies readonly PayloadObjectAction[];

/**
 * SQS actions a function may be granted on the ingest queue (queued mode). `sqs:SendMessage` also
 * authorizes SendMessageBatch; Lambda's event source mapping polls with the processor's role, so
 * that role needs ReceiveMessage, DeleteMessage and GetQueueAttributes.
 */
export type IngestQueueAction =
  | "sqs:SendMessage"
  | "sqs:ReceiveMessage"
  | "sqs:DeleteMessage"
  | "sqs:ChangeMessageVisibility"
  | "sqs:GetQueueAttributes";

/** DynamoDB actions a function may be granted on the deliveries table (docs/adr/0031). */
export type DeliveriesTableAction = "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:Query" | "dynamodb:GetItem" | "dynamodb:BatchGetItem" | "dynamodb:BatchWriteItem";

/**
 * SQS actions a function may be granted on the subscriptions' delivery queues. The deliverer's
 * event source mapping polls with its role (Receive, Delete, GetQueueAttributes); it retries by
 * ChangeMessageVisibility. The dispatcher and replay only send.
 */
export type DeliveryQueueAction =
  | "sqs:SendMessage"
  | "sqs:ReceiveMessage"
  | "sqs:DeleteMessage"
  | "sqs:ChangeMessageVisibility"
  | "sqs:GetQueueAttributes";

/** What a Lambda event source mapping on the events table's stream needs (AWSLambdaDynamoDBExecutionRole's actions). */
export type EventsStreamAction = "dynamodb:DescribeStream" | "dynamodb:GetRecords" | "dynamodb:GetShardIterator" | "dynamodb:ListStreams";

/** How accepted events reach the table: written in the request, or through the ingest queue. */
export const INGEST_MODES = ["direct", "queued"] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

/** What a handler does differently when the stack runs `ingestMode: queued`. */
export interface QueuedFacts {
  readonly description: string;
  readonly eventsTableActions: readonly EventsTableAction[];
  readonly ingestQueueActions: readonly IngestQueueAction[];
  readonly payloadObjectActions: readonly PayloadObjectAction[];
}

export interface HandlerSpec {
  /** Source file, relative to the project root; bundled with esbuild. */
  readonly entry: string;
  readonly description: string;
  /** Exactly the actions the handler's code calls on the events table. */
  readonly eventsTableActions: readonly EventsTableAction[];
  /** Exactly the actions it calls on the claim check's payload objects. */
  readonly payloadObjectActions: readonly PayloadObjectAction[];
  readonly memoryMb: number;
  /** Must exceed the DynamoDB client's worst case (attempts × request timeout + backoff). */
  readonly timeoutSeconds: number;
  /** Reads the webhook sources' secrets (SSM parameters, `ssm:GetParameter` on exactly those). */
  readonly readsWebhookSecrets?: true;
  /** Replaces `description` and the grants in queued mode; unset: the handler is the same in both modes. */
  readonly queued?: QueuedFacts;
  /** Exactly the actions on the deliveries table (granted only when the stack has subscriptions). */
  readonly deliveriesTableActions?: readonly DeliveriesTableAction[];
  /** Exactly the actions on every subscription's delivery queue (only when the stack has subscriptions). */
  readonly deliveryQueueActions?: readonly DeliveryQueueAction[];
  /** Reads the subscriptions' signing secrets (`ssm:GetParameter` on exactly those parameters). */
  readonly readsSubscriptionSecrets?: true;
  /** Reads the events table's stream through an event source mapping. */
  readonly eventsStreamActions?: readonly EventsStreamAction[];
  /** Gets the delivery environment (handlers/lib/delivery/subscriptions.ts deliveryEnvironment). */
  readonly deliveryEnvironment?: true;
}

/** One Lambda function per entry; several routes may share one. */
export const HANDLERS = {
  ingest: {
    entry: "handlers/ingest.ts",
    description: "POST /events and /events/batch: validate, enrich, conditional put or BatchWriteItem (GetItem only to answer an idempotent repeat)",
    eventsTableActions: ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem"],
    payloadObjectActions: WRITES_PAYLOAD_OBJECTS,
    memoryMb: 256,
    timeoutSeconds: 10,
    queued: {
      description: "POST /events and /events/batch: validate, enrich, send to the ingest queue (GetItem only when an Idempotency-Key is sent, docs/adr/0016)",
      eventsTableActions: ["dynamodb:GetItem"],
      ingestQueueActions: ["sqs:SendMessage"],
      payloadObjectActions: QUEUES_PAYLOAD_OBJECTS,
    },
  },
  read: {
    entry: "handlers/read.ts",
    description: "GET /events/{event_id}, GET /events, GET /inbox, GET /events/{event_id}/deliveries: item reads, status-index and delivery-log queries, BatchGetItem for listed events whose payload is stored compressed",
    eventsTableActions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
    payloadObjectActions: ["s3:GetObject"],
    deliveriesTableActions: ["dynamodb:Query"],
    deliveryEnvironment: true,
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  ack: {
    entry: "handlers/ack.ts",
    description: "POST /events/{event_id}/ack: conditional update to delivered",
    eventsTableActions: ["dynamodb:UpdateItem"],
    payloadObjectActions: [],
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  webhook: {
    entry: "handlers/webhook.ts",
    description: "POST /webhooks/{source}: verify the sender's signature, then the same write path as POST /events",
    eventsTableActions: ["dynamodb:PutItem", "dynamodb:GetItem"],
    payloadObjectActions: WRITES_PAYLOAD_OBJECTS,
    readsWebhookSecrets: true,
    memoryMb: 256,
    timeoutSeconds: 10,
    queued: {
      description: "POST /webhooks/{source}: verify the sender's signature, then validate, enrich, send to the ingest queue (GetItem only for a delivery id, docs/adr/0016)",
      eventsTableActions: ["dynamodb:GetItem"],
      ingestQueueActions: ["sqs:SendMessage"],
      payloadObjectActions: QUEUES_PAYLOAD_OBJECTS,
    },
  },
  replay: {
    entry: "handlers/replay.ts",
    description: "POST /events/{event_id}/replay: reset the subscriptions' delivery state, send to their queues, mark the event replayed",
    eventsTableActions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    deliveriesTableActions: ["dynamodb:UpdateItem"],
    deliveryQueueActions: ["sqs:SendMessage"],
    deliveryEnvironment: true,
    payloadObjectActions: [],
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  openapi: {
    entry: "handlers/openapi.ts",
    description: "GET /openapi.json and GET /catalog: the generated OpenAPI 3.1 document and the event catalogue, no storage access",
    eventsTableActions: [],
    payloadObjectActions: [],
    memoryMb: 128,
    timeoutSeconds: 3,
  },
  health: {
    entry: "handlers/health.ts",
    description: "GET /health: liveness, no storage access",
    eventsTableActions: [],
    payloadObjectActions: [],
    memoryMb: 128,
    timeoutSeconds: 3,
  },
} as const satisfies Record<string, HandlerSpec>;

export type HandlerName = keyof typeof HANDLERS;

/** The authorizer is not a route; it reads the API keys table only. */
export const AUTHORIZER_HANDLER = {
  entry: "handlers/authorizer.ts",
  description: "API key authorizer: lookup by key id, constant-time digest comparison",
  apiKeysTableActions: ["dynamodb:GetItem"],
  memoryMb: 256,
  timeoutSeconds: 5,
} as const;

/**
 * The delivery functions (only when the stack has subscriptions) are not routes. The dispatcher
 * reads INSERT records of the events table's stream, so it runs once an event is stored and never
 * before, whatever its source, and sends one message per matching subscription to that
 * subscription's queue (isolated queues: a dead receiver cannot delay another). The deliverer
 * consumes every delivery queue, signs and POSTs, records the attempt and retries through
 * ChangeMessageVisibility along the schedule, with partial batch responses.
 */
export const DELIVERY_HANDLERS = {
  deliveryDispatch: {
    entry: "handlers/deliveryDispatch.ts",
    description: "Delivery dispatcher: for each stored event (stream INSERT), record pending delivery state and queue one delivery per matching subscription",
    eventsTableActions: [],
    eventsStreamActions: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
    deliveriesTableActions: ["dynamodb:UpdateItem"],
    deliveryQueueActions: ["sqs:SendMessage"],
    deliveryEnvironment: true,
    payloadObjectActions: [],
    memoryMb: 256,
    timeoutSeconds: 30,
  },
  deliverer: {
    entry: "handlers/deliverer.ts",
    description: "Deliverer: read the event, sign (Standard Webhooks) and POST it, record the attempt, retry along the schedule, mark the event delivered or failed",
    // BatchGetItem: a batch's events and state items in one read (both tables); BatchWriteItem: the
    // batch's attempt items (no PutItem); Query: every state, when the event matched several
    // subscriptions or was replayed (docs/adr/0041).
    eventsTableActions: ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"],
    deliveriesTableActions: ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:Query"],
    deliveryQueueActions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
    readsSubscriptionSecrets: true,
    deliveryEnvironment: true,
    // A claim-checked event's payload is read back from the bucket to deliver it whole.
    payloadObjectActions: ["s3:GetObject"],
    memoryMb: 256,
    /** Covers a batch of DELIVERY_BATCH_SIZE attempts, each up to the 15 s timeout, sent concurrently, plus the bookkeeping. */
    timeoutSeconds: 60,
  },
} as const satisfies Record<string, Omit<HandlerSpec, "queued">>;

/** Messages per deliverer invocation: small, so a slow receiver holds few deliveries of its own subscription. */
export const DELIVERY_BATCH_SIZE = 10;

/** Each subscription's delivery queue, for the Pulumi component and the local stack alike. */
export const DELIVERY_QUEUE = {
  /** Longer than the whole schedule (about 27.6 h over 8 attempts), with room for a paused deliverer. */
  retentionSeconds: 4 * 86_400,
  deadLetterRetentionSeconds: 14 * 86_400,
  /** AWS's guidance for Lambda event sources: visibility ≥ 6 × the function timeout. */
  visibilityTimeoutSeconds: 6 * 60,
  /** Receives that make no attempt (signing secrets or storage unavailable) before a message counts as poison. */
  receivesWithoutAttempt: 10,
  /** Concurrent deliverer batches per subscription (the event source mapping's maximum concurrency): a slow receiver holds only these. */
  maximumConcurrency: 2,
} as const;

/** The delivery queues' maxReceiveCount: every attempt, plus the receives that make none. */
export function deliveryQueueMaxReceiveCount(maxAttempts: number): number {
  return maxAttempts + DELIVERY_QUEUE.receivesWithoutAttempt;
}

/**
 * The queue processor (queued mode) is not a route: Lambda's SQS event source mapping invokes it.
 * It writes each record with the conditional put (a redelivered message finds its event and
 * leaves it as it is), and makes a message it cannot read visible again at once
 * (ChangeMessageVisibility) so it reaches the dead-letter queue without waiting out the timeout.
 */
export const PROCESSOR_HANDLER = {
  entry: "handlers/processor.ts",
  description: "Ingest queue processor: validate each message, conditional put, report only the failed messages",
  eventsTableActions: ["dynamodb:PutItem", "dynamodb:GetItem"],
  payloadObjectActions: WRITES_PAYLOAD_OBJECTS,
  ingestQueueActions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
  memoryMb: 256,
  timeoutSeconds: 30,
} as const satisfies Omit<HandlerSpec, "queued"> & Pick<QueuedFacts, "ingestQueueActions">;

/** The ingest queue's fixed settings (queued mode), for the Pulumi component and the local stack alike. */
export const INGEST_QUEUE = {
  /** SQS keeps an unprocessed message 4 days, a dead letter 14 (its maximum). */
  retentionSeconds: 4 * 86_400,
  deadLetterRetentionSeconds: 14 * 86_400,
  /** AWS's guidance for Lambda event sources: visibility ≥ 6 × the function timeout (plus the batching window). */
  visibilityTimeoutFactor: 6,
} as const;

export function ingestQueueVisibilitySeconds(processorTimeoutSeconds: number, batchingWindowSeconds: number): number {
  return INGEST_QUEUE.visibilityTimeoutFactor * processorTimeoutSeconds + batchingWindowSeconds;
}

/** A handler's description and grants in the given mode. */
export function handlerFacts(name: HandlerName, mode: IngestMode): QueuedFacts {
  const spec: HandlerSpec = HANDLERS[name];
  if (mode === "queued" && spec.queued) return spec.queued;
  return { description: spec.description, eventsTableActions: spec.eventsTableActions, ingestQueueActions: [], payloadObjectActions: spec.payloadObjectActions };
}

export interface RouteSpec {
  readonly method: "GET" | "POST";
  /** API Gateway path syntax: `/events/{event_id}`. */
  readonly path: string;
  readonly handler: HandlerName;
  /** Scope the API key must carry; `null` means no authorizer runs (a public route, or `auth: "signature"`). */
  readonly scope: Scope | null;
  /** `"signature"`: no API key; the handler authenticates each request by the sender's signature. */
  readonly auth?: "signature";
  readonly summary: string;
}

export const ROUTES: readonly RouteSpec[] = [
  { method: "POST", path: "/events", handler: "ingest", scope: "ingest", summary: "Ingest one event" },
  { method: "POST", path: "/events/batch", handler: "ingest", scope: "ingest", summary: "Ingest up to 100 events" },
  { method: "GET", path: "/events/{event_id}", handler: "read", scope: "read", summary: "Read one event" },
  { method: "GET", path: "/events", handler: "read", scope: "read", summary: "List events, newest first" },
  { method: "GET", path: "/inbox", handler: "read", scope: "read", summary: "Pending events, oldest first" },
  { method: "POST", path: "/events/{event_id}/ack", handler: "ack", scope: "ack", summary: "Mark an event delivered" },
  { method: "GET", path: "/events/{event_id}/deliveries", handler: "read", scope: "read", summary: "The delivery attempts of one event" },
  { method: "POST", path: "/events/{event_id}/replay", handler: "replay", scope: "replay", summary: "Deliver an event again to its subscriptions" },
  { method: "POST", path: "/webhooks/{source}", handler: "webhook", scope: null, auth: "signature", summary: "Receive a signed webhook" },
  { method: "GET", path: "/health", handler: "health", scope: null, summary: "Liveness check" },
  { method: "GET", path: "/openapi.json", handler: "openapi", scope: null, summary: "This API's OpenAPI 3.1 document" },
  // Served by the openapi function: it needs no grant at all; the authorizer checks the read scope.
  { method: "GET", path: "/catalog", handler: "openapi", scope: "read", summary: "The declared event types and their JSON Schemas" },
];

/** API Gateway's route key, e.g. `POST /events`; also the `routeKey` of a 2.0 event. */
export function routeKey(route: Pick<RouteSpec, "method" | "path">): string {
  return `${route.method} ${route.path}`;
}

const byRouteKey = new Map(ROUTES.map((r) => [routeKey(r), r]));

export function findRoute(key: string): RouteSpec | undefined {
  return byRouteKey.get(key);
}
