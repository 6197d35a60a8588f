/**
 * Webhook sources under Pulumi mocks, built from the real Pulumi.dev.yaml plus `pulumi config set`
 * style overrides: the route has no authorizer, each secret lives only in an SSM SecureString as a
 * Pulumi secret (never in a function environment or any other resource input), and the webhook
 * function may read exactly those parameters.
 */
import { expect } from "chai";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { generateSecret } from "../../handlers/lib/webhooks/signatures";
import { WEBHOOK_ENV } from "../../handlers/lib/webhooks/sources";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";

const PARAMETER = "aws:ssm/parameter:Parameter";
const FUNCTION = "aws:lambda/function:Function";
const SECRETS = {
  github: generateSecret("github"),
  payments: generateSecret("stripe"),
  acme: generateSecret("standard"),
  acmePrevious: generateSecret("standard"),
};
const CONFIG = {
  webhookSources: "github=github, payments=stripe, acme=standard",
  webhookToleranceSeconds: 120,
  "webhookSecret-github": SECRETS.github,
  "webhookSecret-payments": SECRETS.payments,
  "webhookSecret-acme": SECRETS.acme,
  "webhookPreviousSecret-acme": SECRETS.acmePrevious,
};
const parameterArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/event-ingestion/dev/webhooks/${name}`;

function isSecretInput(value: unknown): value is { value: string } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

describe("webhook sources (stack under Pulumi mocks)", function () {
  this.timeout(60_000);
  let s: BuiltStack;
  let webhookFn: MockResource;
  before(async () => {
    s = await buildStack("dev", CONFIG);
    webhookFn = s.one(FUNCTION, (f) => f.inputs.name === "event-ingestion-dev-webhook");
  });

  it("routes POST /webhooks/{source} to the webhook function with no authorizer", () => {
    const route = s.one("aws:apigatewayv2/route:Route", (r) => r.inputs.routeKey === "POST /webhooks/{source}");
    expect(route.inputs.authorizationType).to.equal("NONE");
    expect(route.inputs).not.to.have.property("authorizerId");
  });

  it("keeps each source's secrets in one SSM SecureString, passed as a Pulumi secret: current first, the previous during a rotation", () => {
    const parameters = s.ofType(PARAMETER);
    expect(parameters.map((p) => p.inputs.name)).to.have.members(["github", "payments", "acme"].map((n) => `/event-ingestion/dev/webhooks/${n}`));
    const expected: Record<string, string[]> = { github: [SECRETS.github], payments: [SECRETS.payments], acme: [SECRETS.acme, SECRETS.acmePrevious] };
    for (const p of parameters) {
      expect(p.inputs.type, p.name).to.equal("SecureString");
      expect(p.inputs).not.to.have.property("keyId"); // the AWS-managed key aws/ssm (docs/adr/0020)
      expect(isSecretInput(p.inputs.value), `${p.name}: value is a Pulumi secret`).to.equal(true);
      expect(JSON.parse(p.inputs.value.value)).to.deep.equal(expected[String(p.inputs.name).split("/").pop()!]);
    }
  });

  it("puts no secret in plain text into any resource input (state): only inside Pulumi secrets, never in a function environment", () => {
    const plain = Object.values(SECRETS);
    let wrapped = 0;
    /** The inputs with every Pulumi secret taken out: what the state would hold unencrypted. */
    const unencrypted = (value: unknown): unknown => {
      if (isSecretInput(value)) {
        wrapped++;
        return "[secret]";
      }
      if (Array.isArray(value)) return value.map(unencrypted);
      if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unencrypted(v)]));
      return value;
    };
    for (const resource of s.resources) {
      const text = JSON.stringify(unencrypted(resource.inputs));
      for (const secret of plain) expect(text.includes(secret), `${resource.type} ${resource.name}`).to.equal(false);
    }
    expect(wrapped).to.be.greaterThanOrEqual(3);
    const env = JSON.stringify(webhookFn.inputs.environment);
    for (const secret of plain) expect(env.includes(secret)).to.equal(false);
  });

  it("gives the webhook function parameter names, schemes and the tolerance in its environment, and nothing else about webhooks", () => {
    const env = webhookFn.inputs.environment.variables as Record<string, string>;
    expect(JSON.parse(env[WEBHOOK_ENV.sources]!)).to.deep.equal([
      { name: "github", scheme: "github", parameter: "/event-ingestion/dev/webhooks/github" },
      { name: "payments", scheme: "stripe", parameter: "/event-ingestion/dev/webhooks/payments" },
      { name: "acme", scheme: "standard", parameter: "/event-ingestion/dev/webhooks/acme" },
    ]);
    expect(env[WEBHOOK_ENV.toleranceSeconds]).to.equal("120");
    for (const f of s.ofType(FUNCTION).filter((f) => f !== webhookFn)) {
      expect(f.inputs.environment?.variables ?? {}, f.name).not.to.have.property(WEBHOOK_ENV.sources);
    }
  });

  it("lets the webhook function call ssm:GetParameter on exactly its parameters, and no other function touch SSM or KMS", () => {
    const ssm = policyOf(s, webhookFn).Statement.filter((st) => st.Action.some((a) => a.startsWith("ssm:") || a.startsWith("kms:")));
    expect(ssm).to.deep.equal([{ Effect: "Allow", Action: ["ssm:GetParameter"], Resource: ["github", "payments", "acme"].map(parameterArn) }]);
    expectLeastPrivilege(s, webhookFn);
    for (const f of s.ofType(FUNCTION).filter((f) => f !== webhookFn)) {
      const actions = policyOf(s, f).Statement.flatMap((st) => st.Action);
      expect(actions.filter((a) => a.startsWith("ssm:") || a.startsWith("kms:")), f.name).to.deep.equal([]);
    }
  });

  it("without webhookSources: no parameter, no SSM grant, the route still answers (401 unknown_source)", async () => {
    const bare = await buildStack("dev");
    expect(bare.ofType(PARAMETER)).to.have.length(0);
    const fn = bare.one(FUNCTION, (f) => f.inputs.name === "event-ingestion-dev-webhook");
    expect(policyOf(bare, fn).Statement.flatMap((st) => st.Action).filter((a) => a.startsWith("ssm:"))).to.deep.equal([]);
    expect(JSON.parse(fn.inputs.environment.variables[WEBHOOK_ENV.sources])).to.deep.equal([]);
    expect(bare.one("aws:apigatewayv2/route:Route", (r) => r.inputs.routeKey === "POST /webhooks/{source}").inputs.authorizationType).to.equal("NONE");
  });

  it("fails the preview with a message naming what to change for a bad webhookSources value or a missing secret", async () => {
    const failure = (config: Record<string, string>) => buildStack("dev", config).then(() => "built", (e: Error) => e.message);
    expect(await failure({ webhookSources: "github=gitlab" })).to.match(/webhookSources: expected name=scheme pairs.*"github=gitlab"/);
    expect(await failure({ webhookSources: "github=github" })).to.match(/webhookSecret-github/);
  });

  it("refuses, at preview, an environment over Lambda's 4 KB (webhook sources with long names), naming the function and the variable", async () => {
    const sourcesConfig = (count: number, nameLength: number) => {
      const names = Array.from({ length: count }, (_, i) => `source-${String(i).padStart(2, "0")}-${"x".repeat(nameLength - 10)}`);
      return {
        webhookSources: names.map((n) => `${n}=standard`).join(","),
        ...Object.fromEntries(names.map((n) => [`webhookSecret-${n}`, SECRETS.acme])),
      };
    };
    // About 150 bytes per 40-character source: 30 of them pass 4,096.
    const failure = await buildStack("dev", sourcesConfig(30, 40)).then(() => "built", (e: Error) => e.message);
    expect(failure).to.match(/function event-ingestion-dev-webhook: its environment is \d+ bytes, over Lambda's 4096-byte \(4 KB\) limit/);
    expect(failure).to.include(`${WEBHOOK_ENV.sources} (`);
    // Ten of them fit, and the check counts what Lambda counts.
    const fits = await buildStack("dev", sourcesConfig(10, 40));
    const variables = fits.one(FUNCTION, (f) => f.inputs.name === "event-ingestion-dev-webhook").inputs.environment.variables as Record<string, string>;
    const bytes = Object.entries(variables).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(bytes).to.be.within(1500, 4096);
  });
});
