/**
 * `npm run preview`: the same stacks the infra tests build, shown as a tree, data, a diff and a
 * diagram. The preview must show what the other infra tests assert, and a resource it has never
 * heard of must show up without any change to it.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT } from "../../components/bundle";
import { buildStack, PROJECT, type BuiltStack } from "../../cli/preview/mockStack";
import { AUTHORIZER_HANDLER, handlerFacts, HANDLERS, ROUTES, routeKey, type HandlerName } from "../../handlers/routes";
import { runPreviewCli } from "../../cli/preview";
import {
  diffPreviews,
  previewOf,
  README_MERMAID_END,
  README_MERMAID_START,
  renderMermaid,
  renderTree,
  withReadmeDiagram,
  type PreviewResource,
  type StackPreview,
} from "../../cli/preview/stackPreview";
import { sharedStack } from "../support/sharedStacks";

const FUNCTION = "aws:lambda/function:Function";
const TABLE = "aws:dynamodb/table:Table";
const ROUTE = "aws:apigatewayv2/route:Route";
const API = "event-ingestion:index:EventIngestionApi";

const byPhysical = (p: StackPreview, type: string, physical: string): PreviewResource => {
  const found = p.resources.filter((r) => r.type === type && r.physicalName === physical);
  expect(found, `${type} ${physical}`).to.have.length(1);
  return found[0]!;
};

/** Without subscriptions the stack has no delivery resource: no replay function or route (test/infra/deliveries.test.ts). */
const WITHOUT_SUBSCRIPTIONS = (handler: string) => handler !== "replay";
describe("npm run preview", function () {
  this.timeout(120_000);
  const previews: Record<string, StackPreview> = {};
  const built: Record<string, BuiltStack> = {};
  before(async () => {
    for (const stack of ["dev", "prod"] as const) {
      built[stack] = await sharedStack(stack);
      previews[stack] = previewOf(built[stack]!);
    }
  });

  for (const stack of ["dev", "prod"] as const) {
    describe(`the ${stack} stack`, () => {
      it("lists every registered resource once, each under the component that created it", () => {
        const p = previews[stack]!;
        expect(p.resourceCount).to.equal(built[stack]!.resources.length);
        expect(new Set(p.resources.map((r) => r.key)).size).to.equal(p.resources.length);
        const components = new Set(p.resources.filter((r) => r.component).map((r) => r.key));
        for (const r of p.resources) if (r.parent !== undefined) expect(components.has(r.parent), r.key).to.equal(true);
        // Only index.ts creates resources outside a component; every component's children are under it.
        const parented = p.resources.filter((r) => !r.component && r.parent !== undefined).length;
        expect(parented).to.be.greaterThan(p.resources.length - components.size - 3);
      });

      it("shows each handler and the authorizer as arm64 nodejs24.x functions with their memory and log retention", () => {
        const p = previews[stack]!;
        const retention = stack === "prod" ? 90 : 14;
        const specs = { ...HANDLERS, authorizer: AUTHORIZER_HANDLER } as Record<string, { memoryMb: number; timeoutSeconds: number }>;
        for (const [purpose, spec] of Object.entries(specs).filter(([name]) => WITHOUT_SUBSCRIPTIONS(name))) {
          const fn = byPhysical(p, FUNCTION, `event-ingestion-${stack}-${purpose}`);
          expect(fn.settings, purpose).to.deep.include({
            runtime: "nodejs24.x",
            architectures: "arm64",
            memorySize: spec.memoryMb,
            timeout: spec.timeoutSeconds,
            "loggingConfig.systemLogLevel": "INFO",
          });
          expect(fn.parent, purpose).to.match(/^event-ingestion:index:(EventIngestionApi|ApiKeyAuthorizer)::/);
          const logs = byPhysical(p, "aws:cloudwatch/logGroup:LogGroup", `/aws/lambda/event-ingestion-${stack}-${purpose}`);
          expect(logs.settings.retentionInDays).to.equal(retention);
        }
      });

      it("shows the tables' flags as the stack file sets them", () => {
        const on = stack === "prod";
        const events = byPhysical(previews[stack]!, TABLE, `event-ingestion-${stack}-events`);
        expect(events.settings).to.deep.include({
          billingMode: "PAY_PER_REQUEST",
          hashKey: "event_id",
          "ttl.enabled": on,
          "pointInTimeRecovery.enabled": on,
          deletionProtectionEnabled: on,
          "serverSideEncryption.enabled": true,
        });
        expect(byPhysical(previews[stack]!, TABLE, `event-ingestion-${stack}-api-keys`).settings).to.deep.include({ "pointInTimeRecovery.enabled": on });
      });

      it("shows each role's IAM actions, and each function's table actions as a flow to the events table", () => {
        const p = previews[stack]!;
        for (const purpose of (Object.keys(HANDLERS) as HandlerName[]).filter(WITHOUT_SUBSCRIPTIONS)) {
          // prod runs ingestMode queued: a handler's grants are its facts in the stack's mode.
          const spec = handlerFacts(purpose, stack === "prod" ? "queued" : "direct");
          const role = p.resources.find((r) => r.type === "aws:iam/role:Role" && r.physicalName === `event-ingestion-${stack}-${purpose}-eu-north-1`)!;
          const grants = Object.entries(role.settings).filter(([k]) => k.startsWith("allow[")).map(([, v]) => String(v));
          for (const action of spec.eventsTableActions) expect(grants.some((g) => g.includes(action) && g.includes("→events-table")), `${purpose} ${action}`).to.equal(true);
          expect(grants.some((g) => g.startsWith("xray:")), purpose).to.equal(stack === "prod");
          if (spec.eventsTableActions.length === 0) continue;
          const fn = byPhysical(p, FUNCTION, `event-ingestion-${stack}-${purpose}`);
          const edge = p.edges.find((e) => e.from === fn.key && e.to === "aws:dynamodb/table:Table::events-table");
          expect(edge?.label.split(", "), purpose).to.have.members(spec.eventsTableActions.map((a) => a.split(":")[1]));
        }
      });

      it("shows every route with its auth, and the API's flow to the function serving it", () => {
        const p = previews[stack]!;
        const routes = p.resources.filter((r) => r.type === ROUTE);
        expect(routes.map((r) => r.settings.routeKey)).to.have.members(ROUTES.filter((r) => WITHOUT_SUBSCRIPTIONS(r.handler)).map(routeKey));
        for (const spec of ROUTES.filter((r) => WITHOUT_SUBSCRIPTIONS(r.handler))) {
          const route = routes.find((r) => r.settings.routeKey === routeKey(spec))!;
          expect(route.parent).to.equal(`${API}::ingestion`);
          if (spec.scope === null) expect(route.settings.authorizationType, routeKey(spec)).to.equal("NONE");
          else expect(route.settings, routeKey(spec)).to.deep.include({ authorizationType: "CUSTOM", authorizerId: "→ingestion-auth-authorizer" });
          const fn = byPhysical(p, FUNCTION, `event-ingestion-${stack}-${spec.handler}`);
          const edge = p.edges.find((e) => e.from === "aws:apigatewayv2/api:Api::ingestion-api" && e.to === fn.key);
          expect(edge?.label.split(", "), routeKey(spec)).to.include(routeKey(spec));
        }
      });

      it("says what Lambda concurrency quota the stack needs, as the stack output does", () => {
        const p = previews[stack]!;
        expect(p.requiredLambdaConcurrencyQuota).to.equal(built[stack]!.outputs.requiredLambdaConcurrencyQuota).and.equal(stack === "prod" ? 150 : 100);
        expect(renderTree(p)).to.include(`Lambda concurrency quota needed: ${p.requiredLambdaConcurrencyQuota}`).and.include("aws lambda get-account-settings");
      });
    });
  }

  it("shows a resource it has never heard of, with its settings and flows (a new component needs no preview change)", async () => {
    const stack = await buildStack("dev");
    const parent = new pulumi.ComponentResource("example:index:Probe", "probe");
    const dlq = new aws.sqs.Queue("probe-dlq", { name: "probe-dlq" }, { parent });
    const queue = new aws.sqs.Queue(
      "probe-queue",
      { name: "probe-queue", visibilityTimeoutSeconds: 42, redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 }) },
      { parent },
    );
    const topic = new aws.sns.Topic("probe-topic", { name: "probe-topic" }, { parent });
    const subscription = new aws.sns.TopicSubscription("probe-sub", { topic: topic.arn, protocol: "sqs", endpoint: queue.arn }, { parent });
    await new Promise((resolve) => subscription.urn.apply(resolve));
    await new Promise((resolve) => setImmediate(resolve));

    const p = previewOf(stack);
    const shown = p.resources.find((r) => r.key === "aws:sqs/queue:Queue::probe-queue")!;
    expect(shown.parent).to.equal("example:index:Probe::probe");
    expect(shown.settings).to.deep.include({ visibilityTimeoutSeconds: 42 });
    expect(p.edges).to.deep.include({ from: "aws:sns/topic:Topic::probe-topic", to: "aws:sqs/queue:Queue::probe-queue", label: "TopicSubscription" });
    expect(p.edges).to.deep.include({ from: "aws:sqs/queue:Queue::probe-queue", to: "aws:sqs/queue:Queue::probe-dlq", label: "redrivePolicy" });
    const mermaid = renderMermaid(p, PROJECT);
    expect(mermaid).to.match(/subgraph n\d+\["Probe: probe"\]/).and.include('[/"queue probe-queue"/]').and.include('{{"topic probe-topic"}}');
  });

  it("diffs two stacks by logical resource, reading each stack's own name as <stack>", () => {
    const diff = diffPreviews(previews.dev!, previews.prod!, PROJECT);
    expect(diff.requiredLambdaConcurrencyQuota).to.deep.equal({ from: 100, to: 150 });
    // prod turns on what dev leaves off (the example pipeline, log encryption); dev has nothing prod lacks.
    expect(diff.added).to.include.members(["event-ingestion:index:EventPipeline::payments", "event-ingestion:index:LogEncryptionKey::logs"]);
    expect(diff.removed).to.deep.equal([]);
    const table = diff.changed.find((c) => c.key === "aws:dynamodb/table:Table::events-table")!;
    expect(table.settings).to.deep.equal({
      "ttl.enabled": { from: false, to: true },
      "pointInTimeRecovery.enabled": { from: false, to: true },
      deletionProtectionEnabled: { from: false, to: true },
    });
    const ingest = diff.changed.find((c) => c.key === `${FUNCTION}::ingestion-ingest`)!;
    expect(ingest.settings).not.to.have.property("reservedConcurrentExecutions"); // opt-in on prod (docs/adr/0028)
    expect(diffPreviews(previews.dev!, previews.dev!, PROJECT).changed).to.deep.equal([]);
  });

  it("is embedded in README.md for the prod stack, up to date (npm run preview -- --stack prod --mermaid --update-readme)", () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    expect(readme).to.include(README_MERMAID_START).and.include(README_MERMAID_END);
    expect(withReadmeDiagram(readme, renderMermaid(previews.prod!, PROJECT))).to.equal(readme);
  });

  describe("the command line", () => {
    it("--help exits 0 with the usage; an unknown option or a missing --stack exits 2", async () => {
      const help = await runPreviewCli(["--help"]);
      expect(help.exitCode).to.equal(0);
      expect(help.stdout).to.include("--stack").and.include("--diff").and.include("--mermaid");
      expect((await runPreviewCli(["--stack", "dev", "--bogus"])).exitCode).to.equal(2);
      expect((await runPreviewCli([])).exitCode).to.equal(2);
      expect((await runPreviewCli(["--stack", "dev", "--set", "novalue"])).exitCode).to.equal(2);
    });

    it("--set changes config as pulumi config set would, and a value the program refuses exits 1 with its message", async () => {
      const json = await runPreviewCli(["--stack", "dev", "--set", "forwardToEventBridge=true", "--json"]);
      expect(json.exitCode, json.stderr).to.equal(0);
      const data = JSON.parse(json.stdout) as StackPreview;
      expect(data.resources.some((r) => r.physicalName === "event-ingestion-dev-consumer-forward")).to.equal(true);
      const refused = await runPreviewCli(["--stack", "dev", "--set", "authorizerCacheTtlSeconds=4000"]);
      expect(refused.exitCode).to.equal(1);
      expect(refused.stderr).to.include("cacheTtlSeconds must be an integer from 0 to 3600");
    });

    it("previews any stack name, saying when there is no stack file, with names AWS accepts", async () => {
      const result = await runPreviewCli(["--stack", "team.payments-eu", "--json"]);
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(result.stderr).to.include("no Pulumi.team.payments-eu.yaml");
      const functions = (JSON.parse(result.stdout) as StackPreview).resources.filter((r) => r.type === FUNCTION);
      for (const f of functions) expect(f.physicalName).to.match(/^[A-Za-z0-9_-]{1,64}$/);
    });

    it("runs as `npm run preview -- --help` in a fresh process and exits 0", async () => {
      const code = await new Promise<number | null>((resolve) => {
        const child = execFile("npm", ["run", "-s", "preview", "--", "--help"], { cwd: PROJECT_ROOT }, () => undefined);
        child.on("exit", resolve);
      });
      expect(code).to.equal(0);
    });
  });
});
