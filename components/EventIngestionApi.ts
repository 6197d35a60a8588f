/**
 * EventIngestionApi: the HTTP API, its `$default` stage (auto-deploy, throttling, JSON access
 * logs), the API key authorizer, and one function, integration, route and invoke permission per
 * entry of the route table in handlers/routes.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HANDLERS, ROUTES, routeKey, type HandlerName, type RouteSpec } from "../handlers/routes";
import { ApiKeyAuthorizer, type ApiKeyAuthorizerArgs } from "./ApiKeyAuthorizer";
import type { EventStore } from "./EventStore";
import { createHandlerFunction, type HandlerFunction } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

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

export interface EventIngestionApiArgs {
  /** Where events are stored; each function is granted only what its handler declares. */
  eventStore: EventStore;
  /** @default ROUTES from handlers/routes.ts */
  routes?: readonly RouteSpec[];
  /**
   * Default route throttling for the stage, requests per second and burst.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  throttle?: { rateLimit: number; burstLimit: number };
  /** Days CloudWatch keeps access logs and function logs. @default 14 */
  logRetentionDays?: number;
  /** Largest accepted request body in UTF-8 bytes. @default 65536 */
  maxEventBytes?: number;
  /** Options for the API key authorizer and its keys table. */
  authorizer?: Omit<ApiKeyAuthorizerArgs, "api" | "logRetentionDays">;
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
  readonly functions: Partial<Record<HandlerName, HandlerFunction>>;
  readonly routes: aws.apigatewayv2.Route[];
  /** Base URL, e.g. `https://abc123.execute-api.eu-north-1.amazonaws.com`. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: EventIngestionApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventIngestionApi", name, args, opts);
    const routes = args.routes ?? ROUTES;
    const logRetentionDays = args.logRetentionDays ?? 14;
    const throttle = args.throttle ?? { rateLimit: 100, burstLimit: 200 };
    if (!(throttle.rateLimit > 0) || !(throttle.burstLimit > 0)) {
      throw new Error(`EventIngestionApi: throttle.rateLimit and throttle.burstLimit must be positive, got ${JSON.stringify(throttle)}`);
    }
    const maxEventBytes = requireInteger("EventIngestionApi", "maxEventBytes", args.maxEventBytes ?? 65536, 1024, 10 * 1024 * 1024);

    this.api = new aws.apigatewayv2.Api(
      `${name}-api`,
      applyTransform<aws.apigatewayv2.ApiArgs>({ name: physicalName("api"), protocolType: "HTTP" }, args.transform?.api),
      { parent: this },
    );

    this.accessLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      applyTransform<aws.cloudwatch.LogGroupArgs>(
        { name: `/aws/apigateway/${physicalName("api")}`, retentionInDays: logRetentionDays },
        args.transform?.accessLogGroup,
      ),
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
      { ...args.authorizer, api: { id: this.api.id, executionArn: this.api.executionArn }, logRetentionDays },
      { parent: this },
    );

    this.functions = {};
    const integrations = new Map<HandlerName, aws.apigatewayv2.Integration>();
    for (const handlerName of new Set(routes.map((r) => r.handler))) {
      const spec = HANDLERS[handlerName];
      const usesStore = spec.eventsTableActions.length > 0;
      const fn = createHandlerFunction(
        `${name}-${handlerName}`,
        {
          entry: spec.entry,
          purpose: handlerName,
          description: spec.description,
          environment: usesStore ? args.eventStore.functionEnvironment(maxEventBytes) : {},
          grants: args.eventStore.grant(spec.eventsTableActions),
          memoryMb: spec.memoryMb,
          timeoutSeconds: spec.timeoutSeconds,
          logRetentionDays,
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

    this.url = this.api.apiEndpoint;
    this.registerOutputs({ url: this.url, apiId: this.api.id });
  }
}

/** `POST /events/{event_id}/ack` → `post-events-event_id-ack`: a stable logical-name part. */
export function routeSlug(route: Pick<RouteSpec, "method" | "path">): string {
  return `${route.method.toLowerCase()}-${route.path.replace(/[{}]/g, "").replace(/^\//, "").replace(/\//g, "-") || "root"}`;
}

/** Path parameters appear as their values in execute-api ARNs, so each becomes `*`. */
export function executionPath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "*");
}
