/**
 * Physical names AWS will accept for every stack name Pulumi allows (up to 100 characters, with
 * `.`), and IAM names that do not collide when one stack is deployed to two regions.
 */
import { expect } from "chai";
import { deriveName, NAME_RULES, type NameKind } from "../../components/naming";
import { buildStack, type BuiltStack } from "../../cli/preview/mockStack";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";

/** Resource types whose `name` input is an AWS name, and the rule it must meet. */
const KIND_OF_TYPE: Record<string, NameKind> = {
  "aws:lambda/function:Function": "lambdaFunction",
  "aws:iam/role:Role": "iamRole",
  "aws:sqs/queue:Queue": "sqsQueue",
  "aws:sns/topic:Topic": "snsTopic",
  "aws:dynamodb/table:Table": "dynamodbTable",
  "aws:cloudwatch/eventBus:EventBus": "eventBus",
  "aws:apigatewayv2/api:Api": "httpApi",
  "aws:apigatewayv2/authorizer:Authorizer": "apiAuthorizer",
  "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm",
  "aws:cloudwatch/dashboard:Dashboard": "dashboard",
  "aws:sfn/stateMachine:StateMachine": "stateMachine",
  "aws:pipes/pipe:Pipe": "pipe",
  "aws:iam/policy:Policy": "iamPolicy",
  "aws:ssm/parameter:Parameter": "ssmParameter",
};

/** 100 characters, the most Pulumi allows, with the `.` that Lambda names refuse. */
const LONG_STACK = `team.payments-eu.${"x".repeat(100 - "team.payments-eu.".length - 4)}.v2z`;

function expectAcceptedNames(s: BuiltStack): number {
  let checked = 0;
  for (const r of s.resources) {
    const kind = KIND_OF_TYPE[r.type];
    if (kind === undefined || typeof r.inputs.name !== "string") continue;
    const rule = NAME_RULES[kind];
    expect(r.inputs.name.length, `${r.type} ${r.inputs.name}`).to.be.at.most(rule.maxLength);
    expect(r.inputs.name, r.type).to.match(rule.allowed);
    checked++;
  }
  for (const g of s.ofType("aws:cloudwatch/logGroup:LogGroup")) {
    expect(g.inputs.name.length, g.inputs.name).to.be.at.most(512);
    expect(g.inputs.name).to.match(/^[A-Za-z0-9_./#-]+$/);
  }
  return checked;
}

describe("physical names", function () {
  this.timeout(60_000);

  describe("deriveName", () => {
    const parts = { project: "event-ingestion", stack: "dev", region: "eu-north-1" };

    it("keeps ${project}-${stack}-${purpose} whenever AWS accepts it, and adds the region to IAM names", () => {
      expect(deriveName({ ...parts, purpose: "ingest", kind: "lambdaFunction" })).to.equal("event-ingestion-dev-ingest");
      expect(deriveName({ ...parts, purpose: "ingest", kind: "iamRole" })).to.equal("event-ingestion-dev-ingest-eu-north-1");
      expect(deriveName({ ...parts, purpose: "events", kind: "dynamodbTable" })).to.equal("event-ingestion-dev-events");
    });

    it("shortens a 100-character stack name with '.' to fit every kind, keeping the purpose and a hash of the stack", () => {
      for (const kind of Object.keys(NAME_RULES) as NameKind[]) {
        const name = deriveName({ ...parts, stack: LONG_STACK, purpose: "consumer-forward-dlq", kind });
        expect(name.length, kind).to.be.at.most(NAME_RULES[kind].maxLength);
        expect(name, kind).to.match(NAME_RULES[kind].allowed);
        // Kinds that take '.' and 100+ characters keep the plain name; the others get the hash.
        expect(name, kind).to.include("consumer-forward-dlq");
        if (!NAME_RULES[kind].allowed.test(LONG_STACK)) expect(name, kind).to.match(/-[0-9a-f]{8}-consumer-forward-dlq/);
      }
      const lambda = deriveName({ ...parts, stack: LONG_STACK, purpose: "ingest", kind: "lambdaFunction" });
      expect(lambda).to.have.length(64).and.not.include(".");
    });

    it("gives two long stacks that differ only after the cut different names", () => {
      const a = deriveName({ ...parts, stack: `${"a".repeat(90)}-one`, purpose: "ingest", kind: "lambdaFunction" });
      const b = deriveName({ ...parts, stack: `${"a".repeat(90)}-two`, purpose: "ingest", kind: "lambdaFunction" });
      const dotted = deriveName({ ...parts, stack: "a.b", purpose: "ingest", kind: "lambdaFunction" });
      const dashed = deriveName({ ...parts, stack: "a-b", purpose: "ingest", kind: "lambdaFunction" });
      expect(a).not.to.equal(b);
      expect(dotted).not.to.equal(dashed);
      expect(dashed).to.equal("event-ingestion-a-b-ingest");
    });

    it("fits the longest consumer role (a 30-character consumer name) in the longest region names, with any stack", () => {
      for (const stack of ["dev", LONG_STACK]) {
        const name = deriveName({ ...parts, stack, region: "ap-southeast-2", purpose: `consumer-${"c".repeat(30)}`, kind: "iamRole" });
        expect(name.length, stack).to.be.at.most(64);
        expect(name, stack).to.match(/^[0-9a-f]{8}-consumer-c{30}-ap-southeast-2$/);
      }
    });

    it("fails, naming the limit and the name, when even a shortened prefix leaves no room for the purpose", () => {
      expect(() => deriveName({ ...parts, purpose: "p".repeat(60), kind: "lambdaFunction" })).to.throw(
        /physical name "event-ingestion-dev-p+" \(lambdaFunction\) is 80 characters; AWS allows 64/,
      );
      expect(() => deriveName({ ...parts, purpose: "Ingest.Fn", kind: "lambdaFunction" })).to.throw(/purpose "Ingest.Fn" must match/);
    });
  });

  describe("the whole stack", () => {
    it("with a 100-character stack name containing '.', every name fits its AWS rule (every option on)", async () => {
      const s = await buildStack(LONG_STACK, { ...EVERYTHING_ON, alarmEmail: "" });
      expect(expectAcceptedNames(s)).to.be.greaterThan(20);
      const functions = s.ofType("aws:lambda/function:Function").map((f) => f.inputs.name as string);
      expect(new Set(functions).size).to.equal(functions.length);
      expect(functions.some((n) => n.endsWith("-consumer-forward"))).to.equal(true);
    });

    it("the stock dev and prod stacks keep their readable names and meet the rules too", async () => {
      for (const stack of ["dev", "prod"]) {
        const s = await sharedStack(stack as "dev" | "prod", EVERYTHING_ON);
        expectAcceptedNames(s);
        expect(s.ofType("aws:lambda/function:Function").map((f) => f.inputs.name)).to.include(`event-ingestion-${stack}-ingest`);
      }
    });

    it("IAM role names carry the region, so one stack in two regions of an account does not collide", async () => {
      const roleNames = (s: BuiltStack) => s.ofType("aws:iam/role:Role").map((r) => r.inputs.name as string);
      const north = roleNames(await sharedStack("dev", EVERYTHING_ON));
      const east = roleNames(await buildStack("dev", { ...EVERYTHING_ON, "aws:region": "us-east-1" }));
      expect(north).to.include("event-ingestion-dev-ingest-eu-north-1");
      expect(east).to.include("event-ingestion-dev-ingest-us-east-1");
      expect(north.filter((n) => east.includes(n))).to.deep.equal([]);
    });
  });
});
