/**
 * The contract test's case table: for every (route, status) the OpenAPI document lists, a request
 * that makes the API answer it. test/contract/contract.test.ts sends each one over HTTP and fails
 * when a documented (route, status) has no case here, so a new route or status needs one.
 *
 * Where each answer comes from decides where its case lives:
 * 1. HANDLER_CASES      — what a route's own function answers, per route key: extend this when
 *                         you add a route or a status to handlers/lib/api/openapi.ts OPERATIONS.
 * 2. gatewayCases()     — API Gateway's answers, the same on every route, generated from the route
 *                         table: 401/403 on authorized routes, 413 over 10 MB, 431, the handler's
 *                         403 insufficient_scope; 500/503 when the function fails or hangs.
 * 3. storageCases()     — from every route whose function uses the events table: 503 problem+json
 *                         when DynamoDB cannot be reached, 500 problem+json when it rejects the call.
 * 4. QUEUED_CASES       — what only a stack running `ingestMode: queued` answers (202 queued).
 * 5. AWS_ONLY           — statuses only deployed stacks produce, each with the reason.
 */
import { randomUUID } from "node:crypto";
import { EXAMPLES } from "../../handlers/lib/api/openapi";
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { HANDLERS, ROUTES, SCOPES, routeKey, type RouteSpec, type Scope } from "../../handlers/routes";

/** Which server answers: the local stack, or an emulator whose functions fail (see contract.test.ts). */
export type Target = "stack" | "queued-stack" | "storage-down" | "storage-rejects" | "function-fails" | "function-hangs";

export interface CaseRequest {
  /** Path and query; defaults to the route's path with `{event_id}` filled in with a stored event. */
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** `Authorization: Bearer <key>`: "all" scopes, a key "without" the route's scope, none, or a literal value. */
  key?: "all" | "without-scope" | "none" | { literal: string };
}

export interface CaseContext {
  /** An event stored before the cases run (the contract stack's one subscription wants it). */
  eventId: string;
  /** A stored event no subscription matches. */
  unmatchedEventId: string;
  /** Sends a request first (e.g. the original of an idempotent repeat); resolves to its status. */
  send(route: RouteSpec, request: CaseRequest): Promise<number>;
}

export interface ContractCase {
  route: string;
  status: number;
  /** What the request is, as the test name shows it. */
  name: string;
  target: Target;
  /** Where a status has two bodies (the function's problem, API Gateway's message): which one this case gets. */
  mediaType?: typeof PROBLEM | typeof GATEWAY;
  request(ctx: CaseContext): CaseRequest | Promise<CaseRequest>;
}

const PROBLEM = "application/problem+json";
const GATEWAY = "application/json";

const json = (value: unknown) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(value) });
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const UNKNOWN_EVENT_ID = "evt_00000000000000000000000000";

type HandlerCase = Omit<ContractCase, "route" | "target">;

/**
 * The webhook sources the contract stack is started with: `CONTRACT_WEBHOOK` signs with GitHub's
 * scheme; `CONTRACT_WEBHOOK_GONE` is configured, then its secret is removed from the store after
 * the start, so reading it fails (503 secrets_unavailable).
 */
export const CONTRACT_WEBHOOK = { name: "contract", scheme: "github", secret: "contract-webhook-secret-0123456789" } as const;
export const CONTRACT_WEBHOOK_GONE = { name: "contract-gone", scheme: "github", secret: "contract-webhook-secret-gone-0123" } as const;

/** A GitHub delivery to `source`, signed by GitHub's own library. */
async function githubDelivery(body: string, options: { deliveryId?: string; contentType?: string; source?: string } = {}): Promise<CaseRequest> {
  const { sign } = await import("@octokit/webhooks-methods");
  return {
    path: `/webhooks/${options.source ?? CONTRACT_WEBHOOK.name}`,
    headers: {
      "content-type": options.contentType ?? "application/json",
      "x-github-event": "issues",
      "x-github-delivery": options.deliveryId ?? randomUUID(),
      "x-hub-signature-256": await sign(CONTRACT_WEBHOOK.secret, body),
    },
    body,
  };
}

/** 1. What each route's function answers. One entry per route key in handlers/routes.ts. */
export const HANDLER_CASES: Record<string, HandlerCase[]> = {
  "POST /events": [
    { status: 201, name: "a valid event", request: () => ({ ...json(EXAMPLES.event), key: "all" }) },
    {
      status: 200,
      name: "a repeat with the same Idempotency-Key and body",
      request: async (ctx) => {
        const request: CaseRequest = { ...json(EXAMPLES.event), key: "all" };
        request.headers = { ...request.headers, "idempotency-key": `contract-repeat-${Date.now()}` };
        await ctx.send(route("POST /events"), request);
        return request;
      },
    },
    { status: 400, name: "a body that is not JSON", request: () => ({ headers: { "content-type": "application/json" }, body: "{", key: "all" }) },
    { status: 413, name: "a 100 KB event (over maxEventBytes)", mediaType: PROBLEM, request: () => ({ ...json({ event_type: "big", payload: { blob: "x".repeat(100 * 1024) } }), key: "all" }) },
    { status: 415, name: "a text/plain body", request: () => ({ headers: { "content-type": "text/plain" }, body: "hello", key: "all" }) },
    {
      status: 422,
      name: "an Idempotency-Key reused with a different body",
      request: async (ctx) => {
        const idempotencyKey = `contract-reuse-${Date.now()}`;
        const first = json(EXAMPLES.event);
        await ctx.send(route("POST /events"), { ...first, headers: { ...first.headers, "idempotency-key": idempotencyKey }, key: "all" });
        const second = json({ ...EXAMPLES.event, payload: { other: true } });
        return { ...second, headers: { ...second.headers, "idempotency-key": idempotencyKey }, key: "all" };
      },
    },
  ],
  "POST /events/batch": [
    { status: 200, name: "two valid events", request: () => ({ ...json({ events: [EXAMPLES.event, EXAMPLES.event] }), key: "all" }) },
    { status: 207, name: "a valid and an invalid event", request: () => ({ ...json({ events: [EXAMPLES.event, { event_type: "" }] }), key: "all" }) },
    { status: 400, name: "a body that is not a batch envelope", request: () => ({ ...json({ items: [] }), key: "all" }) },
    { status: 413, name: `a body over ${LIMITS.batchMaxBytes} bytes`, mediaType: PROBLEM, request: () => ({ ...json({ events: [{ event_type: "big", payload: { blob: "x".repeat(LIMITS.batchMaxBytes) } }] }), key: "all" }) },
    { status: 415, name: "a text/plain body", request: () => ({ headers: { "content-type": "text/plain" }, body: "hello", key: "all" }) },
  ],
  "GET /events/{event_id}": [
    { status: 200, name: "a stored event", request: () => ({ key: "all" }) },
    { status: 404, name: "an id no event has", request: () => ({ path: `/events/${UNKNOWN_EVENT_ID}`, key: "all" }) },
  ],
  "GET /events": [
    { status: 200, name: "the first page of pending events of one type", request: () => ({ path: `/events?status=pending&event_type=${EXAMPLES.event.event_type}&limit=2`, key: "all" }) },
    { status: 400, name: "an unknown parameter", request: () => ({ path: "/events?foo=1", key: "all" }) },
  ],
  "GET /inbox": [
    { status: 200, name: "the first page", request: () => ({ path: "/inbox?limit=2", key: "all" }) },
    { status: 400, name: "limit=101", request: () => ({ path: "/inbox?limit=101", key: "all" }) },
  ],
  "POST /events/{event_id}/ack": [
    { status: 200, name: "a stored event", request: () => ({ key: "all" }) },
    { status: 404, name: "an id no event has", request: () => ({ path: `/events/${UNKNOWN_EVENT_ID}/ack`, key: "all" }) },
  ],
  "GET /events/{event_id}/deliveries": [
    { status: 200, name: "a stored event", request: () => ({ key: "all" }) },
    { status: 404, name: "an id no event has", request: () => ({ path: `/events/${UNKNOWN_EVENT_ID}/deliveries`, key: "all" }) },
  ],
  "POST /events/{event_id}/replay": [
    { status: 202, name: "an event its subscription wants", request: () => ({ key: "all" }) },
    { status: 400, name: "a subscription that does not exist", request: (ctx) => ({ path: `/events/${ctx.eventId}/replay?subscription=nobody`, key: "all" }) },
    { status: 404, name: "an id no event has", request: () => ({ path: `/events/${UNKNOWN_EVENT_ID}/replay`, key: "all" }) },
    { status: 409, name: "an event no subscription matches", request: (ctx) => ({ path: `/events/${ctx.unmatchedEventId}/replay`, key: "all" }) },
  ],
  "POST /webhooks/{source}": [
    { status: 201, name: "a delivery GitHub's library signed", request: () => githubDelivery(JSON.stringify(EXAMPLES.webhook)) },
    {
      status: 200,
      name: "a redelivery of the same delivery id",
      request: async (ctx) => {
        const request = await githubDelivery(JSON.stringify(EXAMPLES.webhook));
        await ctx.send(route("POST /webhooks/{source}"), request);
        return request;
      },
    },
    { status: 400, name: "a signed body that is not JSON", request: () => githubDelivery("{") },
    {
      status: 401,
      name: "a delivery without a signature",
      request: async () => {
        const { "x-hub-signature-256": _signature, ...headers } = (await githubDelivery("{}")).headers!;
        return { path: `/webhooks/${CONTRACT_WEBHOOK.name}`, headers, body: "{}" };
      },
    },
    { status: 413, name: "a 1.1 MB delivery (over maxWebhookBytes, 1 MiB by default)", request: () => githubDelivery(JSON.stringify({ blob: "x".repeat(1100 * 1024) })) },
    { status: 415, name: "a signed form-encoded delivery", request: () => githubDelivery("payload=%7B%7D", { contentType: "application/x-www-form-urlencoded" }) },
    { status: 503, name: "a source whose secret cannot be read (secrets_unavailable)", request: () => githubDelivery("{}", { source: CONTRACT_WEBHOOK_GONE.name }) },
  ],
  "GET /health": [{ status: 200, name: "no key needed", request: () => ({}) }],
  "GET /openapi.json": [{ status: 200, name: "no key needed", request: () => ({}) }],
  "GET /catalog": [{ status: 200, name: "the declared event types", request: () => ({ key: "all" }) }],
};

/** 2. API Gateway's answers, and the scope check every authorized handler makes. */
export function gatewayCases(route: RouteSpec): ContractCase[] {
  const key = routeKey(route);
  const valid: CaseRequest["key"] = route.scope === null ? "none" : "all";
  const cases: ContractCase[] = [
    {
      route: key,
      status: 413,
      name: `a body of ${GATEWAY_MAX_BODY + 1} bytes (API Gateway's payload quota)`,
      target: "stack",
      mediaType: GATEWAY,
      request: () => ({ headers: { "content-type": "application/json" }, body: Buffer.alloc(GATEWAY_MAX_BODY + 1, 0x20), key: valid }),
    },
    {
      route: key,
      status: 431,
      name: "10.3 KB of header values (API Gateway's 10,240-byte quota)",
      target: "stack",
      request: () => ({ headers: { "x-padding": "p".repeat(10_300) }, key: valid }),
    },
    { route: key, status: 500, name: "a function that fails", target: "function-fails", mediaType: GATEWAY, request: () => ({ key: valid }) },
    { route: key, status: 503, name: "a function that outlives the integration timeout", target: "function-hangs", mediaType: GATEWAY, request: () => ({ key: valid }) },
  ];
  if (route.scope === null) return cases;
  return [
    ...cases,
    { route: key, status: 401, name: "no Authorization header", target: "stack", request: () => ({ key: "none" }) },
    { route: key, status: 403, name: "a key the authorizer denies", target: "stack", mediaType: GATEWAY, request: () => ({ key: { literal: "eik_not-a-key" } }) },
    { route: key, status: 403, name: `a key without the "${route.scope}" scope (insufficient_scope)`, target: "stack", mediaType: PROBLEM, request: () => ({ key: "without-scope" }) },
  ];
}

/** 3. What a route whose function reads or writes the events table answers when storage fails. */
export function storageCases(route: RouteSpec): ContractCase[] {
  if (HANDLERS[route.handler].eventsTableActions.length === 0) return [];
  // The batch route reports storage failures per item (207): its 500 and 503 are the gateway's.
  if (routeKey(route) === "POST /events/batch") return [];
  // A webhook needs a configured source before it reaches storage; its 503 case is in HANDLER_CASES.
  if (route.auth === "signature") return [];
  const body = routeKey(route) === "POST /events" ? json(EXAMPLES.event) : {};
  return [
    { route: routeKey(route), status: 503, name: "DynamoDB unreachable (storage_unavailable, Retry-After)", target: "storage-down", mediaType: PROBLEM, request: () => ({ ...body, key: "all" }) },
    { route: routeKey(route), status: 500, name: "DynamoDB rejects the call (internal_error)", target: "storage-rejects", mediaType: PROBLEM, request: () => ({ ...body, key: "all" }) },
  ];
}

/** 4. Answers of a stack with `ingestMode: queued`, through the local stack in that mode. */
export const QUEUED_CASES: Record<string, HandlerCase[]> = {
  "POST /events": [{ status: 202, name: "a valid event, queued", request: () => ({ ...json(EXAMPLES.event), key: "all" }) }],
  "POST /events/batch": [{ status: 202, name: "a valid batch, every item queued", request: () => ({ ...json(EXAMPLES.batch), key: "all" }) }],
  "POST /webhooks/{source}": [{ status: 202, name: "a delivery GitHub's library signed, queued", request: () => githubDelivery(JSON.stringify(EXAMPLES.webhook)) }],
};

/** 5. Statuses a deployed stack can answer that the local stack never does, with the reason. */
export const AWS_ONLY: Record<string, string> = {
  "429": "stage throttling (throttleRateLimit / throttleBurstLimit) is not emulated by the local stack (docs/LOCAL.md)",
};

export function allCases(routes: readonly RouteSpec[] = ROUTES): ContractCase[] {
  return routes.flatMap((r) => [
    ...(HANDLER_CASES[routeKey(r)] ?? []).map((c): ContractCase => ({ ...c, route: routeKey(r), target: "stack" })),
    ...(QUEUED_CASES[routeKey(r)] ?? []).map((c): ContractCase => ({ ...c, route: routeKey(r), target: "queued-stack" })),
    ...gatewayCases(r),
    ...storageCases(r),
  ]);
}

/** The scopes of a key that may call everything but `scope`. */
export function scopesWithout(scope: Scope): Scope[] {
  return SCOPES.filter((s) => s !== scope);
}

function route(key: string): RouteSpec {
  const found = ROUTES.find((r) => routeKey(r) === key);
  if (!found) throw new Error(`no route ${key}`);
  return found;
}
