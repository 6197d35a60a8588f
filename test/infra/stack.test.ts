/**
 * The whole stack under Pulumi mocks, built from the real Pulumi.yaml, Pulumi.dev.yaml and
 * Pulumi.prod.yaml. Every assertion reads the inputs the program actually registered.
 */
import { expect } from "chai";
import { parse } from "yaml";
import * as fs from "node:fs";
import * as path from "node:path";
import { bundleHandler, PROJECT_ROOT } from "../../components/bundle";
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_LOG_FORMAT } from "../../components/EventIngestionApi";
import { EventStore } from "../../components/EventStore";
import { AUTHORIZER_HANDLER, HANDLERS, ROUTES, routeKey, type HandlerName } from "../../handlers/routes";
import { API_KEYS_TABLE, ENV, EVENTS_TABLE, STATUS_INDEX } from "../../handlers/lib/primitives/tables";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack } from "../../cli/preview/mockStack";

const TABLE = "aws:dynamodb/table:Table";
const FUNCTION = "aws:lambda/function:Function";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const ROLE = "aws:iam/role:Role";
const PERMISSION = "aws:lambda/permission:Permission";
const ROUTE = "aws:apigatewayv2/route:Route";
const INTEGRATION = "aws:apigatewayv2/integration:Integration";

const table = (s: BuiltStack, purpose: string) => s.one(TABLE, (r) => r.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const fn = (s: BuiltStack, purpose: string) => s.one(FUNCTION, (r) => r.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const tableArn = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
/** Without subscriptions the stack has no delivery resource: no replay function or route (test/infra/deliveries.test.ts). */
const WITHOUT_SUBSCRIPTIONS = (handler: string) => handler !== "replay";
const HANDLER_PURPOSES = [...Object.keys(HANDLERS).filter(WITHOUT_SUBSCRIPTIONS), "authorizer"];
const DEPLOYED_ROUTES = ROUTES.filter((r) => WITHOUT_SUBSCRIPTIONS(r.handler));
const DEPLOYED_HANDLERS = Object.entries(HANDLERS).filter(([name]) => WITHOUT_SUBSCRIPTIONS(name));
const PIPELINE_PURPOSES = ["payments-validate", "payments-store", "payments-validate-payment", "payments-compute-fee", "payments-assign-risk"];

describe("stack under Pulumi mocks", function () {
  this.timeout(60_000);
  let dev: BuiltStack;
  let prod: BuiltStack;
  before(async () => {
    prod = await buildStack("prod");
    dev = await buildStack("dev"); // last, so later components see the dev stack's mocks
  });

  describe("stack configuration files", () => {
    it("declare every config key in Pulumi.yaml with a type, a default and a description", () => {
      const project = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
      expect(project.name).to.equal("event-ingestion");
      expect(project.runtime).to.deep.include({ name: "nodejs" });
      expect(project.runtime.options.typescript).to.equal(true);
      const declared = Object.entries<any>(project.config).filter(([k]) => !k.includes(":"));
      expect(declared.map(([k]) => k)).to.have.members([
        "enableTtl", "retentionDays", "enablePitr", "deletionProtection", "logRetentionDays",
        "authorizerCacheTtlSeconds", "throttleRateLimit", "throttleBurstLimit", "maxEventBytes", "maxWebhookBytes", "statusIndexShards",
        "forwardToEventBridge", "tracing", "reservedConcurrency", "corsAllowedOrigins", "customDomainName",
        "customDomainHostedZoneId", "alarmEmail", "pipeline", "logEncryption", "webhookSources", "webhookToleranceSeconds",
        "ingestMode", "queueMaxReceiveCount", "processorBatchSize", "processorBatchingWindowSeconds", "processorMaxConcurrency",
        "pipelineMaxReceiveCount", "pipelineMaxConcurrency",
        "subscriptions", "deliveryMaxAttempts", "deliveryTimeoutSeconds", "deliveryConcurrency",
        "catalogMode", "unknownEventTypes",
      ]);
      for (const [key, spec] of declared) {
        expect(spec, key).to.have.keys(["type", "default", "description"]);
      }
    });

    for (const stack of ["dev", "prod"]) {
      it(`Pulumi.${stack}.yaml sets aws:region eu-north-1 and Project/Environment/ManagedBy default tags`, () => {
        const config = parse(fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")).config;
        expect(config["aws:region"]).to.equal("eu-north-1");
        expect(config["aws:defaultTags"].tags).to.deep.equal({ Project: "event-ingestion", Environment: stack, ManagedBy: "pulumi" });
      });
    }
  });

  describe("EventStore", () => {
    it("is a PAY_PER_REQUEST table keyed by event_id with the sharded status index, projecting what a listing returns but no encoded payload", () => {
      const events = table(dev, EVENTS_TABLE.purpose).inputs;
      expect(events.billingMode).to.equal("PAY_PER_REQUEST");
      expect(events.hashKey).to.equal("event_id");
      expect(events.attributes).to.have.deep.members([
        { name: "event_id", type: "S" },
        { name: STATUS_INDEX.partitionKey.name, type: "S" },
        { name: STATUS_INDEX.sortKey.name, type: "S" },
      ]);
      expect(events.globalSecondaryIndexes).to.deep.equal([
        {
          name: STATUS_INDEX.name,
          keySchemas: [
            { attributeName: "status_shard", keyType: "HASH" },
            { attributeName: "created_at", keyType: "RANGE" },
          ],
          // ADR 0035: not ALL, so an index write no longer costs the payload; never payload_br,
          // payload_object, idempotency_key or request_sha256.
          projectionType: "INCLUDE",
          nonKeyAttributes: [
            "event_type", "payload", "metadata", "occurred_at", "received_at", "request_id", "source", "status",
            "delivery_attempts", "delivered_at", "ttl", "schema_version", "storage_format", "payload_bytes",
          ],
        },
      ]);
      expect(events.serverSideEncryption).to.deep.equal({ enabled: true });
    });

    it("follows the stack files: dev without TTL, PITR and deletion protection; prod with all three", () => {
      expect(table(dev, "events").inputs).to.deep.include({
        ttl: { attributeName: "ttl", enabled: false },
        pointInTimeRecovery: { enabled: false },
        deletionProtectionEnabled: false,
      });
      expect(table(prod, "events").inputs).to.deep.include({
        ttl: { attributeName: "ttl", enabled: true },
        pointInTimeRecovery: { enabled: true },
        deletionProtectionEnabled: true,
      });
    });

    it("turns TTL, PITR and deletion protection on and off from config, both ways", async () => {
      const on = await buildStack("dev", { enableTtl: true, enablePitr: true, deletionProtection: true, retentionDays: 7 });
      expect(table(on, "events").inputs).to.deep.include({
        ttl: { attributeName: "ttl", enabled: true },
        pointInTimeRecovery: { enabled: true },
        deletionProtectionEnabled: true,
      });
      expect(table(on, "api-keys").inputs).to.deep.include({ pointInTimeRecovery: { enabled: true }, deletionProtectionEnabled: true });
      expect(fn(on, "ingest").inputs.environment.variables[ENV.retentionDays]).to.equal("7");

      const off = await buildStack("prod", { enableTtl: false, enablePitr: false, deletionProtection: false });
      expect(table(off, "events").inputs).to.deep.include({
        ttl: { attributeName: "ttl", enabled: false },
        pointInTimeRecovery: { enabled: false },
        deletionProtectionEnabled: false,
      });
      expect(fn(off, "ingest").inputs.environment.variables).not.to.have.property(ENV.retentionDays);
    });

    it("hands the ingest function the TTL horizon and the shard count from config", async () => {
      expect(fn(prod, "ingest").inputs.environment.variables).to.deep.include({
        [ENV.eventsTable]: "event-ingestion-prod-events",
        [ENV.retentionDays]: "365",
        [ENV.statusIndexShards]: "8",
        [ENV.maxEventBytes]: "65536",
      });
      expect(fn(dev, "ingest").inputs.environment.variables).not.to.have.property(ENV.retentionDays);
      const sharded = await buildStack("dev", { statusIndexShards: 16, maxEventBytes: 131072 });
      expect(fn(sharded, "ingest").inputs.environment.variables).to.deep.include({
        [ENV.statusIndexShards]: "16",
        [ENV.maxEventBytes]: "131072",
      });
    });

    it("hands the ingest function the catalogue policy from config (prod warn / warn; dev off / allow: no variables)", async () => {
      expect(fn(prod, "ingest").inputs.environment.variables).to.deep.include({ CATALOG_MODE: "warn", UNKNOWN_EVENT_TYPES: "warn" });
      expect(fn(dev, "ingest").inputs.environment.variables).not.to.have.any.keys("CATALOG_MODE", "UNKNOWN_EVENT_TYPES");
      const enforcing = await buildStack("dev", { catalogMode: "enforce", unknownEventTypes: "reject" });
      expect(fn(enforcing, "ingest").inputs.environment.variables).to.deep.include({ CATALOG_MODE: "enforce", UNKNOWN_EVENT_TYPES: "reject" });
      let failure: unknown;
      try {
        await buildStack("dev", { catalogMode: "strict" });
      } catch (error) {
        failure = error;
      }
      expect(String(failure)).to.contain("config catalogMode must be one of off, warn, enforce");
    });

    it("rejects a shard count outside 1..64 with a message naming the argument", async () => {
      let failure: unknown;
      try {
        await buildStack("dev", { statusIndexShards: 0 });
      } catch (error) {
        failure = error;
      }
      expect(String(failure)).to.match(/statusIndexShards must be an integer from 1 to 64/);
    });
  });

  describe("ApiKeyAuthorizer", () => {
    it("keeps keys in a table keyed by the public key id", () => {
      const keys = table(dev, API_KEYS_TABLE.purpose).inputs;
      expect(keys.hashKey).to.equal("key_id");
      expect(keys.billingMode).to.equal("PAY_PER_REQUEST");
      expect(keys.serverSideEncryption).to.deep.equal({ enabled: true });
    });

    it("is a REQUEST authorizer with payload 2.0, simple responses, the Authorization header and the configured TTL", async () => {
      const authorizer = dev.one("aws:apigatewayv2/authorizer:Authorizer").inputs;
      expect(authorizer).to.deep.include({
        authorizerType: "REQUEST",
        authorizerPayloadFormatVersion: "2.0",
        enableSimpleResponses: true,
        identitySources: ["$request.header.Authorization"],
        authorizerResultTtlInSeconds: 300,
        authorizerUri: fn(dev, "authorizer").state.invokeArn,
        apiId: "ingestion-api-id",
      });
      const short = await buildStack("dev", { authorizerCacheTtlSeconds: 5 });
      expect(short.one("aws:apigatewayv2/authorizer:Authorizer").inputs.authorizerResultTtlInSeconds).to.equal(5);
    });

    it("rejects an authorizer cache TTL above 3600 seconds", async () => {
      let failure: unknown;
      try {
        await buildStack("dev", { authorizerCacheTtlSeconds: 3601 });
      } catch (error) {
        failure = error;
      }
      expect(String(failure)).to.match(/cacheTtlSeconds must be an integer from 0 to 3600/);
    });

    it("lets only this API's authorizer invoke the authorizer function", () => {
      const authorizerFn = fn(dev, "authorizer");
      const permission = dev.one(PERMISSION, (p) => p.inputs.function === authorizerFn.inputs.name);
      expect(permission.inputs).to.deep.include({
        action: "lambda:InvokeFunction",
        principal: "apigateway.amazonaws.com",
        sourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:ingestion-api-id/authorizers/ingestion-auth-authorizer-id`,
      });
    });
  });

  describe("EventIngestionApi", () => {
    it("creates exactly the routes of handlers/routes.ts, with the authorizer on every scoped route", () => {
      const routes = dev.ofType(ROUTE).map((r) => r.inputs);
      expect(routes.map((r) => r.routeKey)).to.have.members(DEPLOYED_ROUTES.map(routeKey));
      for (const spec of DEPLOYED_ROUTES) {
        const route = routes.find((r) => r.routeKey === routeKey(spec))!;
        if (spec.scope === null) {
          expect(route.authorizationType, routeKey(spec)).to.equal("NONE");
          expect(route).not.to.have.property("authorizerId");
        } else {
          expect(route.authorizationType, routeKey(spec)).to.equal("CUSTOM");
          expect(route.authorizerId).to.equal("ingestion-auth-authorizer-id");
        }
      }
    });

    it("sends each route to its handler's function through a payload 2.0 proxy integration", () => {
      for (const spec of DEPLOYED_ROUTES) {
        const route = dev.one(ROUTE, (r) => r.inputs.routeKey === routeKey(spec));
        const integrationId = route.inputs.target.replace(/^integrations\//, "");
        const integration = dev.one(INTEGRATION, (i) => `${i.name}-id` === integrationId).inputs;
        expect(integration).to.deep.include({ integrationType: "AWS_PROXY", payloadFormatVersion: "2.0" });
        expect(integration.integrationUri).to.equal(fn(dev, spec.handler).state.arn);
      }
    });

    it("allows API Gateway to invoke each function only for its own routes", () => {
      for (const spec of DEPLOYED_ROUTES) {
        const path = spec.path.replace(/\{[^}]+\}/g, "*");
        const sourceArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:ingestion-api-id/*/${spec.method}${path}`;
        const permission = dev.one(PERMISSION, (p) => p.inputs.sourceArn === sourceArn);
        expect(permission.inputs.function).to.equal(`event-ingestion-dev-${spec.handler}`);
        expect(permission.inputs.principal).to.equal("apigateway.amazonaws.com");
      }
      expect(dev.ofType(PERMISSION)).to.have.length(DEPLOYED_ROUTES.length + 1);
    });

    it("deploys a $default stage automatically with throttling from config", () => {
      expect(dev.one("aws:apigatewayv2/stage:Stage").inputs).to.deep.include({
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingRateLimit: 100, throttlingBurstLimit: 200 },
      });
      expect(prod.one("aws:apigatewayv2/stage:Stage").inputs.defaultRouteSettings).to.deep.equal({
        throttlingRateLimit: 1000,
        throttlingBurstLimit: 2000,
      });
    });

    it("writes JSON access logs without any header to a log group with retention", () => {
      const stage = dev.one("aws:apigatewayv2/stage:Stage").inputs;
      const accessLogs = dev.one(LOG_GROUP, (l) => l.inputs.name === "/aws/apigateway/event-ingestion-dev-api");
      expect(stage.accessLogSettings.destinationArn).to.equal(accessLogs.state.arn);
      expect(stage.accessLogSettings.format).to.equal(ACCESS_LOG_FORMAT);
      const format = JSON.parse(stage.accessLogSettings.format);
      expect(format).to.include({ requestId: "$context.requestId", status: "$context.status", routeKey: "$context.routeKey" });
      expect(stage.accessLogSettings.format).not.to.match(/header|authorization/i);
      expect(accessLogs.inputs.retentionInDays).to.equal(14);
    });
  });

  describe("functions", () => {
    for (const stackName of ["dev", "prod"]) {
      it(`${stackName}: every function is arm64 on nodejs24.x with JSON logs in its own log group and the stack's retention`, () => {
        const s = stackName === "dev" ? dev : prod;
        const retention = stackName === "dev" ? 14 : 90;
        const functions = s.ofType(FUNCTION);
        // prod runs the example pipeline (config pipeline: its own two stages and the three example stages)
        // and ingestMode queued (the queue processor).
        const purposes = [...HANDLER_PURPOSES, ...(stackName === "prod" ? [...PIPELINE_PURPOSES, "processor"] : [])];
        expect(functions.map((f) => f.inputs.name)).to.have.members(purposes.map((p) => `event-ingestion-${stackName}-${p}`));
        for (const f of functions) {
          expect(f.inputs.architectures, f.name).to.deep.equal(["arm64"]);
          expect(f.inputs.runtime, f.name).to.equal("nodejs24.x");
          expect(f.inputs.handler).to.equal("index.handler");
          expect(f.inputs.loggingConfig).to.deep.include({ logFormat: "JSON", logGroup: `/aws/lambda/${f.inputs.name}` });
          const logGroup = s.one(LOG_GROUP, (l) => l.inputs.name === `/aws/lambda/${f.inputs.name}`);
          expect(logGroup.inputs.retentionInDays, f.name).to.equal(retention);
        }
        expect(s.ofType(LOG_GROUP).every((l) => l.inputs.retentionInDays === retention)).to.equal(true);
      });
    }

    it("ship the esbuild bundle of their handler entry, byte for byte", async () => {
      const entries: Record<string, string> = { authorizer: AUTHORIZER_HANDLER.entry };
      for (const [name, spec] of DEPLOYED_HANDLERS) entries[name] = spec.entry;
      for (const [purpose, entry] of Object.entries(entries)) {
        const assets = await fn(dev, purpose).inputs.code.assets;
        expect(Object.keys(assets)).to.deep.equal(["index.mjs"]);
        expect(await assets["index.mjs"].text, purpose).to.equal(bundleHandler(entry));
      }
    });

    it("take memory and timeout from the route table", () => {
      for (const [name, spec] of DEPLOYED_HANDLERS) {
        expect(fn(dev, name).inputs).to.deep.include({ memorySize: spec.memoryMb, timeout: spec.timeoutSeconds });
      }
    });
  });

  describe("least privilege", () => {
    for (const stackName of ["dev", "prod"]) {
      it(`${stackName}: every statement names specific actions on specific ARNs; logs only on the function's own log group; "*" only for X-Ray's two write actions`, () => {
        const s = stackName === "dev" ? dev : prod;
        for (const f of s.ofType(FUNCTION)) expectLeastPrivilege(s, f);
      });
    }

    it("grants each function exactly the DynamoDB actions its handler declares, on its table (Query: its index) only", () => {
      const events = tableArn("event-ingestion-dev-events");
      const expected: Record<string, { actions: readonly string[]; table: string }> = {
        authorizer: { actions: AUTHORIZER_HANDLER.apiKeysTableActions, table: tableArn("event-ingestion-dev-api-keys") },
      };
      for (const [name, spec] of DEPLOYED_HANDLERS) expected[name] = { actions: spec.eventsTableActions, table: events };
      for (const [purpose, want] of Object.entries(expected)) {
        const dynamo = policyOf(dev, fn(dev, purpose)).Statement.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
        expect(dynamo.flatMap((s) => s.Action), purpose).to.have.members([...want.actions]);
        for (const statement of dynamo) {
          const resource = statement.Action.includes("dynamodb:Query") ? `${events}/index/${STATUS_INDEX.name}` : want.table;
          expect(statement.Resource, purpose).to.deep.equal([resource]);
        }
      }
      // That each declaration is what its handler's code calls, no more and no less, is derived from
      // the calls themselves in test/handlers/leastPrivilege.test.ts.
    });

    it("grants Query on the status index ARN only, never on the whole table", async () => {
      const store = new EventStore("grant-probe");
      const statements = await new Promise((resolve) => pulumi.output(store.grant(["dynamodb:Query", "dynamodb:GetItem"])).apply(resolve));
      const arn = tableArn("event-ingestion-dev-events");
      expect(statements).to.deep.equal([
        { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: [arn] },
        { Effect: "Allow", Action: ["dynamodb:Query"], Resource: [`${arn}/index/${STATUS_INDEX.name}`] },
      ]);
      expect(store.grant([])).to.deep.equal([]);
    });
  });

  describe("names", () => {
    for (const stackName of ["dev", "prod"]) {
      it(`${stackName}: physical names follow \${project}-\${stack}-\${purpose}`, () => {
        const s = stackName === "dev" ? dev : prod;
        const prefix = `event-ingestion-${stackName}-`;
        for (const type of [TABLE, FUNCTION, ROLE, "aws:apigatewayv2/api:Api"]) {
          for (const r of s.ofType(type)) expect(r.inputs.name, `${type} ${r.name}`).to.match(new RegExp(`^${prefix}[a-z0-9-]+$`));
        }
        for (const l of s.ofType(LOG_GROUP)) expect(l.inputs.name).to.match(new RegExp(`^/aws/(lambda|apigateway|vendedlogs/states)/${prefix}`));
        expect(s.outputs).to.deep.include({
          eventsTableName: `${prefix}events`,
          apiKeysTableName: `${prefix}api-keys`,
          region: "eu-north-1",
        });
      });
    }
  });

  it("handler names in the route table are all deployed, but replay only with subscriptions", () => {
    const deployed = new Set(dev.ofType(FUNCTION).map((f) => f.inputs.name.replace("event-ingestion-dev-", "")));
    for (const name of Object.keys(HANDLERS) as HandlerName[]) expect(deployed.has(name), name).to.equal(WITHOUT_SUBSCRIPTIONS(name));
  });
});
