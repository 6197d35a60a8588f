/**
 * THE route table. The Pulumi API component builds its routes, integrations and invoke
 * permissions from it, the local emulator dispatches with it, handlers read the scope a
 * route requires from it. Plain data: no Pulumi, no AWS SDK.
 */

/** `ack` changes state, so a read-only key (a dashboard) cannot empty a consumer's inbox. */
export const SCOPES = ["ingest", "read", "ack"] as const;
export type Scope = (typeof SCOPES)[number];

/** DynamoDB actions a function may be granted on the events table (and its index, for Query). */
export type EventsTableAction = "dynamodb:PutItem" | "dynamodb:BatchWriteItem" | "dynamodb:GetItem" | "dynamodb:Query" | "dynamodb:UpdateItem";

export interface HandlerSpec {
  /** Source file, relative to the project root; bundled with esbuild. */
  readonly entry: string;
  readonly description: string;
  /** Exactly the actions the handler's code calls on the events table. */
  readonly eventsTableActions: readonly EventsTableAction[];
  readonly memoryMb: number;
  /** Must exceed the DynamoDB client's worst case (attempts × request timeout + backoff). */
  readonly timeoutSeconds: number;
  /** Reads the webhook sources' secrets (SSM parameters, `ssm:GetParameter` on exactly those). */
  readonly readsWebhookSecrets?: true;
}

/** One Lambda function per entry; several routes may share one. */
export const HANDLERS = {
  ingest: {
    entry: "handlers/ingest.ts",
    description: "POST /events and /events/batch: validate, enrich, conditional put or BatchWriteItem (GetItem only to answer an idempotent repeat)",
    eventsTableActions: ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem"],
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  read: {
    entry: "handlers/read.ts",
    description: "GET /events/{event_id}, GET /events, GET /inbox: item reads and status-index queries",
    eventsTableActions: ["dynamodb:GetItem", "dynamodb:Query"],
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  ack: {
    entry: "handlers/ack.ts",
    description: "POST /events/{event_id}/ack: conditional update to delivered",
    eventsTableActions: ["dynamodb:UpdateItem"],
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  webhook: {
    entry: "handlers/webhook.ts",
    description: "POST /webhooks/{source}: verify the sender's signature, then the same write path as POST /events",
    eventsTableActions: ["dynamodb:PutItem", "dynamodb:GetItem"],
    readsWebhookSecrets: true,
    memoryMb: 256,
    timeoutSeconds: 10,
  },
  openapi: {
    entry: "handlers/openapi.ts",
    description: "GET /openapi.json: the generated OpenAPI 3.1 document",
    eventsTableActions: [],
    memoryMb: 128,
    timeoutSeconds: 3,
  },
  health: {
    entry: "handlers/health.ts",
    description: "GET /health: liveness, no storage access",
    eventsTableActions: [],
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
  { method: "POST", path: "/webhooks/{source}", handler: "webhook", scope: null, auth: "signature", summary: "Receive a signed webhook" },
  { method: "GET", path: "/health", handler: "health", scope: null, summary: "Liveness check" },
  { method: "GET", path: "/openapi.json", handler: "openapi", scope: null, summary: "This API's OpenAPI 3.1 document" },
];

/** API Gateway's route key, e.g. `POST /events`; also the `routeKey` of a 2.0 event. */
export function routeKey(route: Pick<RouteSpec, "method" | "path">): string {
  return `${route.method} ${route.path}`;
}

const byRouteKey = new Map(ROUTES.map((r) => [routeKey(r), r]));

export function findRoute(key: string): RouteSpec | undefined {
  return byRouteKey.get(key);
}
