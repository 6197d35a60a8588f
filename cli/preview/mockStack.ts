/**
 * Builds the real program (index.ts) under Pulumi's runtime mocks, with config assembled the way
 * the CLI assembles it: project defaults from Pulumi.yaml, then Pulumi.<stack>.yaml, then
 * overrides (as `pulumi config set` would add). Records every resource's resolved inputs and its
 * parent. Used by the infra tests and by `npm run preview`, so both see the same stack; never
 * imported by the program itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../components/bundle";

export const PROJECT = "event-ingestion";
export const ACCOUNT = "123456789012";
export const REGION = "eu-north-1";

export interface MockResource {
  type: string;
  /** Pulumi logical name. */
  name: string;
  /** As the mocks compute it: `urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>`. */
  urn: string;
  /** The parent's URN; undefined for a resource at the top of the program. */
  parent: string | undefined;
  /** A provider-managed resource (false for a ComponentResource). */
  custom: boolean;
  /** The id the mocks gave it (`<name>-id`); other resources' inputs refer to it. */
  id: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
}

export interface BuiltStack {
  stack: string;
  config: Record<string, string>;
  resources: MockResource[];
  outputs: Record<string, unknown>;
  ofType(type: string): MockResource[];
  one(type: string, predicate?: (r: MockResource) => boolean): MockResource;
}

/**
 * What the preview uses for a `secure:` value of a stack file (one set with `pulumi config set
 * --secret`): it cannot decrypt it and does not ask for it. Valid for every webhook scheme
 * (whsec_ + the base64 of 32 bytes), so the program runs as with the real secret; the preview
 * prints every secret as `[secret]` anyway.
 */
export const SECURE_CONFIG_STAND_IN = `whsec_${Buffer.alloc(32, 0x5a).toString("base64")}`;

/** Keys the project declares in Pulumi.yaml, as written there (`enableTtl`, `aws:region`). */
export function declaredConfigKeys(): string[] {
  const project = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
  return Object.keys(project.config ?? {});
}

/** Config values for a stack: Pulumi.yaml defaults < Pulumi.<stack>.yaml < overrides. */
export function stackConfig(stack: string, overrides: Record<string, string | number | boolean> = {}): Record<string, string> {
  return stackConfigWithSecrets(stack, overrides).config;
}

/** stackConfig, and the keys whose values are secrets (`secure:` in the stack file). */
export function stackConfigWithSecrets(stack: string, overrides: Record<string, string | number | boolean> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const secretKeys: string[] = [];
  const project = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
  const config: Record<string, string> = {};
  for (const [key, declared] of Object.entries<any>(project.config ?? {})) {
    const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
    const value = declared !== null && typeof declared === "object" ? declared.default ?? declared.value : declared;
    if (value !== undefined) config[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const stackFile = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(stackFile)) {
    for (const [key, value] of Object.entries<any>(parse(fs.readFileSync(stackFile, "utf8")).config ?? {})) {
      const secure = value !== null && typeof value === "object" && typeof value.secure === "string";
      if (secure) secretKeys.push(key);
      config[key] = secure ? SECURE_CONFIG_STAND_IN : typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    config[key.includes(":") ? key : `${PROJECT}:${key}`] = String(value);
  }
  return { config, secretKeys };
}

/** The partition and DNS suffix the provider reports for a region, as `aws.getPartition()` answers. */
export function partitionOf(region: string): { partition: string; dnsSuffix: string } {
  if (region.startsWith("cn-")) return { partition: "aws-cn", dnsSuffix: "amazonaws.com.cn" };
  if (region.startsWith("us-gov-")) return { partition: "aws-us-gov", dnsSuffix: "amazonaws.com" };
  return { partition: "aws", dnsSuffix: "amazonaws.com" };
}

/** Outputs AWS computes that the program reads (ARNs, ids, endpoints), in the stack's region and partition. */
function computedState(type: string, name: string, inputs: Record<string, any>, id: string, region: string): Record<string, any> {
  const physical = inputs.name ?? name;
  const arnPrefix = `arn:${partitionOf(region).partition}`;
  const dns = partitionOf(region).dnsSuffix;
  switch (type) {
    case "aws:dynamodb/table:Table": {
      const arn = `${arnPrefix}:dynamodb:${region}:${ACCOUNT}:table/${physical}`;
      return { arn, ...(inputs.streamEnabled ? { streamArn: `${arn}/stream/2026-01-01T00:00:00.000` } : {}) };
    }
    case "aws:sqs/queue:Queue":
      return { arn: `${arnPrefix}:sqs:${region}:${ACCOUNT}:${physical}`, url: `https://sqs.${region}.${dns}/${ACCOUNT}/${physical}` };
    case "aws:ssm/parameter:Parameter":
      return { arn: `${arnPrefix}:ssm:${region}:${ACCOUNT}:parameter${physical}` };
    case "aws:s3/bucket:Bucket": {
      // Pulumi auto-names buckets (their names are global): the logical name plus a suffix.
      const bucket = inputs.bucket ?? `${name}-0a1b2c3`;
      return { bucket, arn: `${arnPrefix}:s3:::${bucket}` };
    }
    case "aws:sns/topic:Topic":
      return { arn: `${arnPrefix}:sns:${region}:${ACCOUNT}:${physical}` };
    case "aws:cloudwatch/eventBus:EventBus":
      return { arn: `${arnPrefix}:events:${region}:${ACCOUNT}:event-bus/${physical}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { arn: `${arnPrefix}:cloudwatch:${region}:${ACCOUNT}:alarm:${physical}` };
    case "aws:acm/certificate:Certificate":
      return {
        arn: `${arnPrefix}:acm:${region}:${ACCOUNT}:certificate/${id}`,
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_validation.${inputs.domainName}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: "_token.acm-validations.aws.",
          },
        ],
      };
    case "aws:route53/record:Record":
      return { fqdn: String(inputs.name).replace(/\.$/, "") };
    case "aws:apigatewayv2/domainName:DomainName":
      return {
        domainNameConfiguration: {
          ...inputs.domainNameConfiguration,
          targetDomainName: `d-${id}.execute-api.${region}.${dns}`,
          hostedZoneId: "ZAPIGATEWAYREGIONAL",
        },
      };
    case "aws:lambda/function:Function": {
      const arn = `${arnPrefix}:lambda:${region}:${ACCOUNT}:function:${physical}`;
      return { arn, invokeArn: `${arnPrefix}:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations` };
    }
    case "aws:iam/role:Role":
      return { arn: `${arnPrefix}:iam::${ACCOUNT}:role/${physical}` };
    case "aws:kms/key:Key":
      return { arn: `${arnPrefix}:kms:${region}:${ACCOUNT}:key/${id}`, keyId: id };
    case "aws:sfn/stateMachine:StateMachine":
      return { arn: `${arnPrefix}:states:${region}:${ACCOUNT}:stateMachine:${physical}` };
    case "aws:pipes/pipe:Pipe":
      return { arn: `${arnPrefix}:pipes:${region}:${ACCOUNT}:pipe/${physical}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: `${arnPrefix}:logs:${region}:${ACCOUNT}:log-group:${physical}` };
    case "aws:apigatewayv2/api:Api":
      return {
        executionArn: `${arnPrefix}:execute-api:${region}:${ACCOUNT}:${id}`,
        apiEndpoint: `https://${id}.execute-api.${region}.${dns}`,
      };
    default:
      return {};
  }
}

export async function buildStack(stack: string, overrides: Record<string, string | number | boolean> = {}): Promise<BuiltStack> {
  const resources: MockResource[] = [];
  const { config, secretKeys } = stackConfigWithSecrets(stack, overrides);
  // The region (and with it the partition) the provider would report: the stack's aws:region.
  const region = config["aws:region"] ?? REGION;
  /** Set by the monitor for the registration whose newResource call follows synchronously. */
  let registering: { urn: string; parent: string | undefined } | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}-id`;
        const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs, id, region) };
        const place = registering ?? { urn: `urn:pulumi:${stack}::${PROJECT}::${args.type}::${args.name}`, parent: undefined };
        registering = undefined;
        resources.push({ type: args.type, name: args.name, ...place, custom: args.custom !== false, id, inputs: args.inputs, state });
        return { id, state };
      },
      call(args) {
        // The account, region and partition the provider would report.
        const { partition, dnsSuffix } = partitionOf(region);
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: ACCOUNT, arn: `arn:${partition}:iam::${ACCOUNT}:user/deployer`, userId: "AIDEXAMPLE" };
        if (args.token === "aws:index/getRegion:getRegion") return { region, name: region, id: region };
        if (args.token === "aws:index/getPartition:getPartition") return { partition, dnsSuffix, id: partition, reverseDnsPrefix: dnsSuffix.split(".").reverse().join(".") };
        return args.inputs;
      },
    },
    PROJECT,
    stack,
    false,
  );
  recordParents((place) => (registering = place));
  pulumi.runtime.setAllConfig(config, secretKeys);

  const programPath = require.resolve(path.join(PROJECT_ROOT, "index.ts"));
  delete require.cache[programPath];
  const program = require(programPath) as Record<string, pulumi.Output<unknown> | unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await settle(value);
  // Registrations that no output depends on finish on their own schedule; wait for them too.
  await pulumi.runtime.awaitStackRegistrations?.();
  await new Promise((resolve) => setImmediate(resolve));

  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    stack,
    config,
    resources,
    outputs,
    ofType,
    one(type, predicate = () => true) {
      const found = ofType(type).filter(predicate);
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
      return found[0]!;
    },
  };
}

/**
 * The mocks' newResource is not told the parent; the mock monitor's registration request is. Its
 * registerResource calls newResource synchronously, so the request's parent and URN are handed over
 * just before. (Without this, every resource is recorded at the top level.)
 */
function recordParents(handOver: (place: { urn: string; parent: string | undefined }) => void): void {
  const monitor = pulumi.runtime.getMonitor() as
    | { registerResource?: (req: any, callback: unknown) => unknown; newUrn?: (parent: string, type: string, name: string) => string }
    | undefined;
  const register = monitor?.registerResource;
  const newUrn = monitor?.newUrn;
  if (!monitor || typeof register !== "function" || typeof newUrn !== "function") return;
  monitor.registerResource = (req, callback) => {
    const parent: string = req.getParent();
    handOver({ urn: newUrn.call(monitor, parent, req.getType(), req.getName()), parent: parent || undefined });
    return register.call(monitor, req, callback);
  };
}

function settle(value: unknown): Promise<unknown> {
  return pulumi.Output.isInstance(value) ? new Promise((resolve) => value.apply((v) => resolve(v))) : Promise.resolve(value);
}
