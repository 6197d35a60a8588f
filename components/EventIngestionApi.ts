/**
 * EventIngestionApi: the HTTP API, its `$default` stage (auto-deploy, throttling, JSON access
 * logs), the API key authorizer, one function, integration, route and invoke permission per
 * entry of the route table in handlers/routes.ts, and optionally CORS and a custom domain.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LIMITS } from "../handlers/lib/primitives/limits";
import { ENV } from "../handlers/lib/primitives/tables";
import { handlerFacts, HANDLERS, ROUTES, routeKey, type HandlerName, type HandlerSpec, type RouteSpec } from "../handlers/routes";
import { ApiDomain, requireDomainName, type ApiDomainArgs } from "./ApiDomain";
import { ApiKeyAuthorizer, type ApiKeyAuthorizerArgs } from "./ApiKeyAuthorizer";
import type { Deliveries } from "./Deliveries";
import type { EventStore } from "./EventStore";
import type { IngestQueue } from "./IngestQueue";
import { createHandlerFunction, createLogGroup, type HandlerFunction, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";
import { WebhookSources, type WebhookSourcesArgs } from "./WebhookSources";

/** Access log fields; never headers, so the Authorization header cannot reach the logs. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  requestTime: "$context.requestTime",
  httpMethod: "$context.httpMethod",
  routeKey: "$context.routeKey",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationLatency: "$context.integrationLatency",
  integrationError: "$context.integrationErrorMessage",
  authorizerError: "$context.authorizer.error",
  keyId: "$context.authorizer.key_id",
});

/** Every function the API runs: one per handler of the route table, and the authorizer. */
export type ApiFunctionName = HandlerName | "authorizer";
export const API_FUNCTION_NAMES: readonly ApiFunctionName[] = [...(Object.keys(HANDLERS) as HandlerName[]), "authorizer"];

/** Request headers a browser may send: the API key, the body type, the idempotency key. */
export const CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key"];
/** Response headers a browser script may read. */
export const CORS_EXPOSE_HEADERS = ["location", "retry-after", "x-request-id"];

export interface EventIngestionApiArgs {
  /** Where events are stored; each function is granted only what its handler declares. */
  eventStore: EventStore;
  /**
   * Queued mode: the ingest function sends accepted events to this queue instead of writing them,
   * and gets the grants of `HANDLERS.ingest.queued` (handlers/routes.ts).
   * @default undefined (direct mode)
   */
  ingestQueue?: IngestQueue;
  /**
   * Subscriptions' deliveries (docs/adr/0033): handlers that declare delivery facts (the read
   * function's delivery log, POST /events/{event_id}/replay) get its environment and exactly the
   * grants they declare. Without it, routes whose handler sends deliveries (replay) are left out.
   * @default undefined (no subscriptions)
   */
  deliveries?: Deliveries;
  /** @default ROUTES from handlers/routes.ts */
  routes?: readonly RouteSpec[];
  /**
   * Default route throttling for the stage, requests per second and burst.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  throttle?: { rateLimit: number; burstLimit: number };
  /** Days CloudWatch keeps access logs and function logs. @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the access log group and every function's log group, the authorizer's included (config
   * logEncryption: index.ts passes `LogEncryptionKey.keyArn`).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** Largest accepted request body of POST /events in UTF-8 bytes, 1024..5 MiB. @default 65536 */
  maxEventBytes?: number;
  /** Largest accepted webhook body in UTF-8 bytes, 1024..5 MiB (payloads beyond an item go to S3, ADR 0035). @default 1048576 */
  maxWebhookBytes?: number;
  /**
   * Senders of signed webhooks for `POST /webhooks/{source}`: names, schemes and secrets (kept in
   * SSM Parameter Store SecureStrings, docs/adr/0020).
   * @default { sources: [] }
   * @example { sources: [{ name: "github", scheme: "github", secret: config.requireSecret("webhookSecret-github") }] }
   */
  webhooks?: WebhookSourcesArgs;
  /** Options for the API key authorizer and its keys table. */
  authorizer?: Omit<ApiKeyAuthorizerArgs, "api" | "logRetentionDays" | "logKey" | "tracing" | "reservedConcurrency">;
  /**
   * X-Ray active tracing for every function (HTTP API stages cannot trace; docs/adr/0013).
   * @default false
   */
  tracing?: boolean;
  /**
   * Concurrency reserved for (and capping) each named function; the others share the account's
   * pool. 0 stops a function.
   * @default {}
   * @example { ingest: 100, authorizer: 50 }
   */
  reservedConcurrency?: Partial<Record<ApiFunctionName, number>>;
  /**
   * Browser origins allowed to call the API (CORS); API Gateway answers the preflight. Off when
   * unset or empty. Origins are `https://host[:port]` (`http://` for localhost) or `"*"`.
   * @default undefined (CORS off)
   * @example { allowOrigins: ["https://app.example.com"] }
   */
  cors?: { allowOrigins: string[]; maxAgeSeconds?: number };
  /**
   * Serve the API on your own domain, in a Route 53 hosted zone you own (certificate, DNS
   * validation, domain name, stage mapping, alias record).
   * @default undefined (only the execute-api URL)
   * @example { name: "events.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" }
   */
  domain?: { name: string; hostedZoneId: pulumi.Input<string>; transform?: ApiDomainArgs["transform"] };
  transform?: {
    api?: Transform<aws.apigatewayv2.ApiArgs>;
    stage?: Transform<aws.apigatewayv2.StageArgs>;
    accessLogGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
  };
}

export class EventIngestionApi extends pulumi.ComponentResource {
  readonly api: aws.apigatewayv2.Api;
  readonly stage: aws.apigatewayv2.Stage;
  readonly accessLogGroup: aws.cloudwatch.LogGroup;
  readonly authorizer: ApiKeyAuthorizer;
  readonly webhookSources: WebhookSources;
  readonly functions: Partial<Record<HandlerName, HandlerFunction>>;
  readonly routes: aws.apigatewayv2.Route[];
  /** Undefined unless `domain` is set. */
  readonly domain: ApiDomain | undefined;
  /** Base URL, e.g. `https://abc123.execute-api.eu-north-1.amazonaws.com`. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: EventIngestionApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventIngestionApi", name, args, opts);
    const deliveries = args.deliveries;
    const routes = (args.routes ?? ROUTES).filter((r) => deliveries !== undefined || !sendsDeliveries(HANDLERS[r.handler]));
    const logRetentionDays = args.logRetentionDays ?? 14;
    const throttle = args.throttle ?? { rateLimit: 100, burstLimit: 200 };
    if (!(throttle.rateLimit > 0) || !(throttle.burstLimit > 0)) {
      throw new Error(`EventIngestionApi: throttle.rateLimit and throttle.burstLimit must be positive, got ${JSON.stringify(throttle)}`);
    }
    const maxEventBytes = requireInteger("EventIngestionApi", "maxEventBytes", args.maxEventBytes ?? 65536, 1024, LIMITS.maxConfigurableBodyBytes);
    const maxWebhookBytes = requireInteger("EventIngestionApi", "maxWebhookBytes", args.maxWebhookBytes ?? LIMITS.defaultWebhookBytes, 1024, LIMITS.maxConfigurableBodyBytes);
    const reservedConcurrency = normalizeReservedConcurrency(args.reservedConcurrency);
    const tracing = args.tracing ?? false;
    const cors = normalizeCors(args.cors, routes);
    if (args.domain) requireDomainName("EventIngestionApi", "domain.name", args.domain.name);

    this.api = new aws.apigatewayv2.Api(
      `${name}-api`,
      applyTransform<aws.apigatewayv2.ApiArgs>(
        { name: physicalName("api", "httpApi"), protocolType: "HTTP", ...(cors ? { corsConfiguration: cors } : {}) },
        args.transform?.api,
      ),
      { parent: this },
    );

    this.accessLogGroup = createLogGroup(
      `${name}-access-logs`,
      applyTransform<aws.cloudwatch.LogGroupArgs>(
        { name: `/aws/apigateway/${physicalName("api", "logGroup")}`, retentionInDays: logRetentionDays },
        args.transform?.accessLogGroup,
      ),
      args.logKey,
      { parent: this },
    );

    this.stage = new aws.apigatewayv2.Stage(
      `${name}-stage`,
      applyTransform<aws.apigatewayv2.StageArgs>(
        {
          apiId: this.api.id,
          name: "$default",
          autoDeploy: true,
          defaultRouteSettings: { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit },
          accessLogSettings: { destinationArn: this.accessLogGroup.arn, format: ACCESS_LOG_FORMAT },
        },
        args.transform?.stage,
      ),
      { parent: this },
    );

    this.authorizer = new ApiKeyAuthorizer(
      `${name}-auth`,
      {
        ...args.authorizer,
        api: { id: this.api.id, executionArn: this.api.executionArn },
        logRetentionDays,
        logKey: args.logKey,
        tracing,
        ...(reservedConcurrency.authorizer === undefined ? {} : { reservedConcurrency: reservedConcurrency.authorizer }),
      },
      { parent: this },
    );

    this.webhookSources = new WebhookSources(`${name}-webhooks`, args.webhooks ?? {}, { parent: this });

    this.functions = {};
    const integrations = new Map<HandlerName, aws.apigatewayv2.Integration>();
    for (const handlerName of new Set(routes.map((r) => r.handler))) {
      const spec: HandlerSpec = HANDLERS[handlerName];
      const queue = args.ingestQueue;
      const facts = handlerFacts(handlerName, queue ? "queued" : "direct");
      const usesStore = spec.eventsTableActions.length > 0;
      const usesQueue = queue !== undefined && facts.ingestQueueActions.length > 0;
      const fn = createHandlerFunction(
        `${name}-${handlerName}`,
        {
          entry: spec.entry,
          purpose: handlerName,
          description: facts.description,
          environment: {
            ...(usesStore ? args.eventStore.functionEnvironment(maxEventBytes) : {}),
            ...(usesQueue ? { [ENV.ingestQueueUrl]: queue.queueUrl } : {}),
            ...(readsWebhookSecrets(spec) ? { ...this.webhookSources.environment, [ENV.maxWebhookBytes]: String(maxWebhookBytes) } : {}),
            ...(deliveries && spec.deliveryEnvironment ? deliveries.environment : {}),
          },
          grants: [
            // A delivery handler (replay) may update only the events' delivery fields.
            ...(deliveries && spec.deliveryEnvironment ? deliveries.grantEvents(facts.eventsTableActions) : args.eventStore.grant(facts.eventsTableActions)),
            ...args.eventStore.grantPayloadObjects(facts.payloadObjectActions),
            ...(usesQueue ? queue.grant(facts.ingestQueueActions) : []),
            ...(readsWebhookSecrets(spec) ? this.webhookSources.grants : []),
            ...(deliveries ? deliveries.grantsFor(spec) : []),
          ],
          memoryMb: spec.memoryMb,
          timeoutSeconds: spec.timeoutSeconds,
          logRetentionDays,
          logKey: args.logKey,
          tracing,
          ...(reservedConcurrency[handlerName] === undefined ? {} : { reservedConcurrency: reservedConcurrency[handlerName] }),
        },
        this,
      );
      this.functions[handlerName] = fn;
      integrations.set(
        handlerName,
        new aws.apigatewayv2.Integration(
          `${name}-${handlerName}-integration`,
          {
            apiId: this.api.id,
            integrationType: "AWS_PROXY",
            integrationUri: fn.function.arn,
            payloadFormatVersion: "2.0",
          },
          { parent: this },
        ),
      );
    }

    this.routes = routes.map((route) => {
      const slug = routeSlug(route);
      const fn = this.functions[route.handler]!;
      new aws.lambda.Permission(
        `${name}-${slug}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: fn.function.name,
          principal: "apigateway.amazonaws.com",
          sourceArn: pulumi.interpolate`${this.api.executionArn}/*/${route.method}${executionPath(route.path)}`,
        },
        { parent: this },
      );
      return new aws.apigatewayv2.Route(
        `${name}-${slug}`,
        {
          apiId: this.api.id,
          routeKey: routeKey(route),
          target: pulumi.interpolate`integrations/${integrations.get(route.handler)!.id}`,
          ...(route.scope === null
            ? { authorizationType: "NONE" }
            : { authorizationType: "CUSTOM", authorizerId: this.authorizer.authorizerId }),
        },
        { parent: this },
      );
    });

    this.domain =
      args.domain === undefined
        ? undefined
        : new ApiDomain(
            `${name}-domain`,
            {
              domainName: args.domain.name,
              hostedZoneId: args.domain.hostedZoneId,
              apiId: this.api.id,
              stage: this.stage.name,
              ...(args.domain.transform ? { transform: args.domain.transform } : {}),
            },
            { parent: this },
          );

    this.url = this.api.apiEndpoint;
    this.registerOutputs({ url: this.url, apiId: this.api.id, ...(this.domain ? { customDomainUrl: this.domain.url } : {}) });
  }
}

function readsWebhookSecrets(spec: HandlerSpec): boolean {
  return spec.readsWebhookSecrets === true;
}

/** A handler that sends to the delivery queues (replay) exists only in a stack with subscriptions. */
function sendsDeliveries(spec: HandlerSpec): boolean {
  return (spec.deliveryQueueActions ?? []).length > 0;
}

function normalizeReservedConcurrency(value: EventIngestionApiArgs["reservedConcurrency"]): Partial<Record<ApiFunctionName, number>> {
  const result: Partial<Record<ApiFunctionName, number>> = {};
  for (const [fn, n] of Object.entries(value ?? {})) {
    if (!(API_FUNCTION_NAMES as readonly string[]).includes(fn)) {
      throw new Error(`EventIngestionApi: reservedConcurrency names an unknown function "${fn}"; use ${API_FUNCTION_NAMES.join(", ")}`);
    }
    if (n === undefined) continue;
    result[fn as ApiFunctionName] = requireInteger("EventIngestionApi", `reservedConcurrency.${fn}`, n, 0, 100_000);
  }
  return result;
}

/** An origin as browsers send it: scheme, host, optional port; no path, no trailing slash. */
const ORIGIN = /^(https:\/\/[a-z0-9.-]+|http:\/\/(localhost|127\.0\.0\.1))(:\d{1,5})?$/;

function normalizeCors(
  cors: EventIngestionApiArgs["cors"],
  routes: readonly RouteSpec[],
): aws.types.input.apigatewayv2.ApiCorsConfiguration | undefined {
  if (cors === undefined || cors.allowOrigins.length === 0) return undefined;
  for (const origin of cors.allowOrigins) {
    if (origin !== "*" && !ORIGIN.test(origin)) {
      throw new Error(
        `EventIngestionApi: cors.allowOrigins entries must be "*" or origins like https://app.example.com (http:// only for localhost), got "${origin}"`,
      );
    }
  }
  if (cors.allowOrigins.includes("*") && cors.allowOrigins.length > 1) {
    throw new Error(`EventIngestionApi: cors.allowOrigins is either "*" alone or a list of origins, got ${JSON.stringify(cors.allowOrigins)}`);
  }
  return {
    allowOrigins: [...cors.allowOrigins],
    allowMethods: [...new Set(routes.map((r) => r.method))].sort(),
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    // Keys travel in the Authorization header, never in cookies.
    allowCredentials: false,
    maxAge: requireInteger("EventIngestionApi", "cors.maxAgeSeconds", cors.maxAgeSeconds ?? 3600, 0, 86_400),
  };
}

/** `POST /events/{event_id}/ack` → `post-events-event_id-ack`: a stable logical-name part. */
export function routeSlug(route: Pick<RouteSpec, "method" | "path">): string {
  return `${route.method.toLowerCase()}-${route.path.replace(/[{}]/g, "").replace(/^\//, "").replace(/\//g, "-") || "root"}`;
}

/** Path parameters appear as their values in execute-api ARNs, so each becomes `*`. */
export function executionPath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "*");
}
