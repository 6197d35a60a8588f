/**
 * The operational config toggles, each both ways: tracing, reserved concurrency, CORS and the
 * custom domain. Defaults come from Pulumi.yaml and the stack files, the other side from
 * `pulumi config set` (buildStack overrides).
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ApiDomain } from "../../components/ApiDomain";
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from "../../components/EventIngestionApi";
import { HANDLERS } from "../../handlers/routes";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { buildStack, REGION, type BuiltStack } from "../../cli/preview/mockStack";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";

// Written here, never imported from the code.
const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
const FUNCTION = "aws:lambda/function:Function";
const API = "aws:apigatewayv2/api:Api";
const CERTIFICATE = "aws:acm/certificate:Certificate";
const VALIDATION = "aws:acm/certificateValidation:CertificateValidation";
const RECORD = "aws:route53/record:Record";
const DOMAIN = "aws:apigatewayv2/domainName:DomainName";
const MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping";
/** Without subscriptions the stack has no delivery resource: no replay function or route (test/infra/deliveries.test.ts). */
const WITHOUT_SUBSCRIPTIONS = (handler: string) => handler !== "replay";
const API_FUNCTIONS = [...Object.keys(HANDLERS).filter(WITHOUT_SUBSCRIPTIONS), "authorizer"];

const fn = (s: BuiltStack, purpose: string) => s.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
const xrayStatements = (s: BuiltStack, purpose: string) => policyOf(s, fn(s, purpose)).Statement.filter((st) => st.Action.some((a) => a.startsWith("xray:")));

async function buildFailure(overrides: Record<string, string | boolean>): Promise<string> {
  try {
    await buildStack("dev", overrides);
  } catch (error) {
    return String(error);
  }
  throw new Error(`expected the stack to fail with ${JSON.stringify(overrides)}`);
}

describe("operations config: tracing, reserved concurrency, CORS, custom domain", function () {
  this.timeout(120_000);
  let dev: BuiltStack;
  let prod: BuiltStack;
  let devOn: BuiltStack;
  let prodOff: BuiltStack;
  let prodReserved: BuiltStack;
  before(async () => {
    dev = await sharedStack("dev");
    prod = await sharedStack("prod");
    devOn = await sharedStack("dev", EVERYTHING_ON);
    prodOff = await sharedStack("prod", { tracing: false, reservedConcurrency: "", pipelineMaxConcurrency: 0 });
    prodReserved = await sharedStack("prod", { reservedConcurrency: "ingest=100,authorizer=50,read=50" });
  });

  describe("tracing", () => {
    it("off (dev default, or set off on prod): every function passes traces through and may not write to X-Ray", () => {
      for (const s of [dev, prodOff]) {
        for (const f of s.ofType(FUNCTION)) expect(f.inputs.tracingConfig, `${s.stack} ${f.name}`).to.deep.equal({ mode: "PassThrough" });
        for (const purpose of API_FUNCTIONS) expect(xrayStatements(s, purpose), `${s.stack} ${purpose}`).to.deep.equal([]);
      }
    });

    it("on (prod default, or set on dev): every function, the consumer included, traces actively and may write exactly X-Ray's two actions", () => {
      for (const s of [prod, devOn]) {
        for (const f of s.ofType(FUNCTION)) {
          expect(f.inputs.tracingConfig, `${s.stack} ${f.name}`).to.deep.equal({ mode: "Active" });
          expectLeastPrivilege(s, f);
        }
      }
      for (const purpose of [...API_FUNCTIONS, "consumer-forward"]) {
        expect(xrayStatements(devOn, purpose), purpose).to.deep.equal([{ Effect: "Allow", Action: [...XRAY_WRITE_ACTIONS], Resource: ["*"] }]);
      }
      expect(XRAY_WRITE_ACTIONS).to.deep.equal(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
    });

    it("leaves the stage alone: HTTP API stages cannot be traced", () => {
      const stage = devOn.one("aws:apigatewayv2/stage:Stage").inputs;
      expect(Object.keys(stage).filter((k) => /trac|xray/i.test(k))).to.deep.equal([]);
    });
  });

  describe("reserved concurrency", () => {
    it("unset (dev default, or prod with the pipeline's cap off too): every function shares the account's pool", () => {
      for (const s of [dev, prodOff]) {
        for (const f of s.ofType(FUNCTION)) expect(f.inputs, `${s.stack} ${f.name}`).not.to.have.property("reservedConcurrentExecutions");
      }
    });

    it("set: exactly the named functions get their reservation (ingest 100, authorizer 50, read 50; 0 stops a function); stock prod reserves only the pipeline's cap", () => {
      const reserved = (s: BuiltStack) =>
        Object.fromEntries(s.ofType(FUNCTION).filter((f) => "reservedConcurrentExecutions" in f.inputs).map((f) => [f.inputs.name, f.inputs.reservedConcurrentExecutions]));
      const pipeline = Object.fromEntries(["validate", "validate-payment", "compute-fee", "assign-risk", "store"].map((stage) => [`event-ingestion-prod-payments-${stage}`, 10]));
      // docs/adr/0028: the stock prod stack must deploy in a new account, so the API's reservations are opt-in.
      expect(reserved(prod)).to.deep.equal(pipeline);
      expect(reserved(prodReserved)).to.deep.equal({
        "event-ingestion-prod-ingest": 100,
        "event-ingestion-prod-authorizer": 50,
        "event-ingestion-prod-read": 50,
        ...pipeline,
      });
      expect(reserved(devOn)).to.deep.equal({ "event-ingestion-dev-ingest": 20, "event-ingestion-dev-health": 0 });
    });

    it("rejects an unknown function or a malformed value, naming what to change", async () => {
      expect(await buildFailure({ reservedConcurrency: "ingst=5" })).to.match(
        /reservedConcurrency names an unknown function "ingst"; use ingest, read, ack, webhook, replay, openapi, health, authorizer/,
      );
      expect(await buildFailure({ reservedConcurrency: "ingest=lots" })).to.match(/config reservedConcurrency: expected name=count pairs/);
      expect(await buildFailure({ reservedConcurrency: "ingest=1,ingest=2" })).to.match(/"ingest" appears twice/);
    });
  });

  describe("CORS", () => {
    it("off by default: no CORS configuration, so browsers on other origins are refused", () => {
      for (const s of [dev, prod]) expect(s.one(API).inputs, s.stack).not.to.have.property("corsConfiguration");
    });

    it("on with corsAllowedOrigins: those origins, the routes' methods, the headers the API reads and returns, no credentials", () => {
      expect(devOn.one(API).inputs.corsConfiguration).to.deep.equal({
        allowOrigins: ["https://app.example.com", "http://localhost:5173"],
        allowMethods: ["GET", "POST"],
        allowHeaders: CORS_ALLOW_HEADERS,
        exposeHeaders: CORS_EXPOSE_HEADERS,
        allowCredentials: false,
        maxAge: 3600,
      });
      expect(CORS_ALLOW_HEADERS).to.include.members(["authorization", "content-type", "idempotency-key"]);
      expect(CORS_EXPOSE_HEADERS).to.include.members(["location", "retry-after", "x-request-id"]);
    });

    it("rejects what is not an origin, and * mixed with origins", async () => {
      expect(await buildFailure({ corsAllowedOrigins: "https://app.example.com/" })).to.match(/cors.allowOrigins entries must be "\*" or origins like/);
      expect(await buildFailure({ corsAllowedOrigins: "http://app.example.com" })).to.match(/http:\/\/ only for localhost/);
      expect(await buildFailure({ corsAllowedOrigins: "*,https://app.example.com" })).to.match(/either "\*" alone or a list of origins/);
    });
  });

  describe("custom domain", () => {
    it("off by default: no certificate, domain, mapping or DNS records; only the execute-api URL", () => {
      for (const type of [CERTIFICATE, VALIDATION, RECORD, DOMAIN, MAPPING]) expect(dev.ofType(type), type).to.have.length(0);
      expect(dev.outputs.customDomainUrl).to.equal(undefined);
    });

    it("on: a DNS-validated ACM certificate, its validation record in the zone, and the validation that waits for it", () => {
      const certificate = devOn.one(CERTIFICATE);
      expect(certificate.inputs).to.deep.include({ domainName: "events.example.com", validationMethod: "DNS" });
      const validationRecord = devOn.one(RECORD, (r) => r.inputs.type === "CNAME").inputs;
      expect(validationRecord).to.deep.include({
        zoneId: "Z0123456789ABCDEFGHIJ",
        name: "_validation.events.example.com.",
        type: "CNAME",
        records: ["_token.acm-validations.aws."],
        allowOverwrite: true,
      });
      expect(devOn.one(VALIDATION).inputs).to.deep.equal({
        certificateArn: certificate.state.arn,
        validationRecordFqdns: ["_validation.events.example.com"],
      });
    });

    it("on: a regional TLS 1.2 domain name with the validated certificate, the $default stage mapped at its root, an alias record", () => {
      const domain = devOn.one(DOMAIN);
      expect(domain.inputs.domainName).to.equal("events.example.com");
      expect(domain.inputs.domainNameConfiguration).to.deep.equal({
        certificateArn: devOn.one(CERTIFICATE).state.arn,
        endpointType: "REGIONAL",
        securityPolicy: "TLS_1_2",
      });
      expect(devOn.one(MAPPING).inputs).to.deep.equal({ apiId: "ingestion-api-id", domainName: "events.example.com", stage: "$default" });
      expect(devOn.one(RECORD, (r) => r.inputs.type === "A").inputs).to.deep.include({
        zoneId: "Z0123456789ABCDEFGHIJ",
        name: "events.example.com",
        aliases: [{ name: `d-ingestion-domain-name-id.execute-api.${REGION}.amazonaws.com`, zoneId: "ZAPIGATEWAYREGIONAL", evaluateTargetHealth: false }],
      });
      expect(devOn.outputs.customDomainUrl).to.equal("https://events.example.com");
      expect(devOn.outputs.apiUrl).to.equal(`https://ingestion-api-id.execute-api.${REGION}.amazonaws.com`);
    });

    it("needs both the name and the hosted zone, and a real domain name", async () => {
      expect(await buildFailure({ customDomainName: "events.example.com" })).to.match(/customDomainName and customDomainHostedZoneId go together/);
      expect(await buildFailure({ customDomainHostedZoneId: "Z0123" })).to.match(/go together/);
      expect(await buildFailure({ customDomainName: "https://events.example.com", customDomainHostedZoneId: "Z0123" })).to.match(
        /domain.name must be a lower-case fully qualified name/,
      );
    });

    it("as a component: children with parent: this, and a transform for the certificate", async () => {
      const current = await buildStack("dev"); // components made below register under these mocks
      const domain = new ApiDomain("own-domain", {
        domainName: "api.example.org",
        hostedZoneId: "Z1",
        apiId: "api-1",
        stage: "$default",
        transform: { certificate: { keyAlgorithm: "EC_prime256v1" } },
      });
      const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));
      for (const child of [domain.certificate, domain.validationRecord, domain.certificateValidation, domain.domainName, domain.apiMapping, domain.aliasRecord]) {
        expect(await resolve(child.urn)).to.include("event-ingestion:index:ApiDomain$aws:");
      }
      const certificate = current.resources.find((r) => r.type === CERTIFICATE && r.name === "own-domain-certificate")!;
      expect(certificate.inputs).to.deep.include({ domainName: "api.example.org", validationMethod: "DNS", keyAlgorithm: "EC_prime256v1" });
    });
  });
});
