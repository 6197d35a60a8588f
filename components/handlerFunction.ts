/**
 * The one helper that turns code into a Lambda function: arm64, the current Node.js LTS runtime,
 * JSON logs into its own log group with a retention, optional X-Ray tracing and reserved
 * concurrency, and its own role that may do exactly what the caller grants and nothing else.
 * `createHandlerFunction` feeds it an esbuild bundle of a handler entry; `EventConsumer` feeds it
 * a closure serialized by Pulumi.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUNDLE_FILE, BUNDLE_HANDLER, bundleHandler } from "./bundle";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

/** Lambda's current Node.js LTS runtime. */
export const LAMBDA_RUNTIME = aws.lambda.Runtime.NodeJS24dX;
export const LAMBDA_ARCHITECTURE = "arm64";

/**
 * Lambda keeps this much of an account's regional concurrency unreserved: reservations may add up
 * to the account's quota minus this (PutFunctionConcurrency fails beyond it).
 */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;

/** The account concurrency quota a set of reservations needs, e.g. 300 for prod's 200 reserved. */
export function requiredConcurrencyQuota(reserved: Record<string, number>): number {
  return Object.values(reserved).reduce((sum, n) => sum + n, 0) + UNRESERVED_CONCURRENCY_MINIMUM;
}

/**
 * Lambda's own log lines (START, REPORT with duration, billed duration, memory and init time) are
 * INFO-level system logs; WARN would drop REPORT, which operators and the cost model read
 * (docs/OPERATIONS.md "Lambda's REPORT lines").
 */
export const SYSTEM_LOG_LEVEL = "INFO";

/**
 * What X-Ray's Lambda integration needs. These two actions support no resource-level permissions,
 * so they are the only statement in the project whose resource is `*` (docs/adr/0013).
 */
export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const;

/** The key log groups are encrypted with, and the registry of the log groups its policy must name. */
export interface LogGroupKey {
  keyArn: pulumi.Input<string>;
  addLogGroup(logGroupName: pulumi.Input<string>): void;
}

/**
 * A CloudWatch log group, encrypted with `logKey` when one is given (config logEncryption; the
 * key is `LogEncryptionKey` from index.ts, whose policy names each log group registered here) and
 * with AWS-managed encryption otherwise. The key is a parameter, not module state, so the reader
 * of index.ts sees which components get it; a key set by a `transform` (`args.kmsKeyId`) wins.
 */
export function createLogGroup(
  name: string,
  args: aws.cloudwatch.LogGroupArgs,
  logKey: LogGroupKey | undefined,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.LogGroup {
  if (logKey === undefined || args.kmsKeyId !== undefined) return new aws.cloudwatch.LogGroup(name, args, opts);
  if (args.name === undefined) throw new Error(`log group ${name}: a log group encrypted with the stack's log key needs a name, which the key's policy lists`);
  logKey.addLogGroup(args.name as pulumi.Input<string>);
  return new aws.cloudwatch.LogGroup(name, { ...args, kmsKeyId: logKey.keyArn }, opts);
}

/** Lambda refuses a function whose environment variables, names and values together, pass 4 KB. */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;

/**
 * Fails at preview, naming the function and its largest variables, instead of at `pulumi up` with
 * Lambda's InvalidParameterValueException. Counts UTF-8 bytes of names and values (as cfn-lint's
 * E3697 does); values that are Outputs are checked again once known.
 */
function checkEnvironmentSize(functionName: string, environment: Record<string, pulumi.Input<string>>): void {
  const check = (values: Record<string, string>) => {
    const sizes = Object.entries(values).map(([key, value]) => [key, Buffer.byteLength(key) + Buffer.byteLength(value)] as const);
    const total = sizes.reduce((sum, [, size]) => sum + size, 0);
    if (total <= LAMBDA_ENVIRONMENT_MAX_BYTES) return;
    const largest = [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([key, size]) => `${key} (${size} bytes)`).join(", ");
    throw new Error(
      `function ${functionName}: its environment is ${total} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_MAX_BYTES}-byte (4 KB) limit for names and values together; ` +
        `largest: ${largest}. For the webhook function, fewer or shorter webhookSources names.`,
    );
  };
  check(Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => typeof entry[1] === "string")));
  pulumi.all(environment).apply((values) => check(values as Record<string, string>));
}

/** One IAM statement: named actions on named ARNs, optionally narrowed by a condition. */
export interface GrantStatement {
  Effect: "Allow";
  Action: string[];
  Resource: pulumi.Input<string>[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface FunctionArgs {
  /** Suffix of the physical name: `${project}-${stack}-${purpose}`. */
  purpose: string;
  description?: string;
  /** @default {} */
  environment?: Record<string, pulumi.Input<string>>;
  /** What the function may do besides writing its own logs. @default [] */
  grants?: GrantStatement[];
  /** @default 128 */
  memoryMb?: number;
  /** @default 10 */
  timeoutSeconds?: number;
  /** Days CloudWatch keeps the function's logs. @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the function's log group (config logEncryption).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /**
   * X-Ray active tracing: Lambda samples invocations and the role may write trace segments.
   * @default false
   */
  tracing?: boolean;
  /**
   * Concurrency reserved for (and capping) this function, so a flood on it cannot take the
   * account's whole pool; 0 stops all invocations. Unset: the function shares the pool.
   * @default undefined
   * @example 100
   */
  reservedConcurrency?: number;
  transform?: {
    function?: Transform<aws.lambda.FunctionArgs>;
    role?: Transform<aws.iam.RoleArgs>;
    logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
  };
}

export interface HandlerFunctionArgs extends FunctionArgs {
  /** Handler module relative to the project root, e.g. `handlers/ingest.ts`; must export `handler`. */
  entry: string;
}

export interface HandlerFunction {
  function: aws.lambda.Function;
  role: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
}

/** A handler entry, bundled with esbuild, as a function; children of `parent`. */
export function createHandlerFunction(name: string, args: HandlerFunctionArgs, parent: pulumi.Resource): HandlerFunction {
  const code = new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundleHandler(args.entry)) });
  return createFunction(name, { ...args, code, handler: BUNDLE_HANDLER }, parent);
}

/** Creates the function and its role, policy and log group as children of `parent`. */
export function createFunction(
  name: string,
  args: FunctionArgs & { code: pulumi.asset.Archive; handler: string },
  parent: pulumi.Resource,
): HandlerFunction {
  const opts = { parent };
  const functionName = physicalName(args.purpose, "lambdaFunction");
  const memoryMb = requireInteger(functionName, "memoryMb", args.memoryMb ?? 128, 128, 10_240);
  const timeoutSeconds = requireInteger(functionName, "timeoutSeconds", args.timeoutSeconds ?? 10, 1, 900);
  const reservedConcurrency =
    args.reservedConcurrency === undefined
      ? undefined
      : requireInteger(functionName, "reservedConcurrency", args.reservedConcurrency, 0, 100_000);

  checkEnvironmentSize(functionName, args.environment ?? {});

  const logGroup = createLogGroup(
    `${name}-logs`,
    applyTransform<aws.cloudwatch.LogGroupArgs>(
      { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays ?? 14 },
      args.transform?.logGroup,
    ),
    args.logKey,
    opts,
  );

  const role = new aws.iam.Role(
    `${name}-role`,
    applyTransform<aws.iam.RoleArgs>(
      {
        // IAM names are account-global: the region in the name keeps two regions apart.
        name: physicalName(args.purpose, "iamRole"),
        description: `Execution role of ${functionName}`,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
      },
      args.transform?.role,
    ),
    opts,
  );

  const statements: GrantStatement[] = [
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [pulumi.interpolate`${logGroup.arn}:*`] },
    ...(args.grants ?? []),
    ...(args.tracing ? [{ Effect: "Allow" as const, Action: [...XRAY_WRITE_ACTIONS], Resource: ["*"] }] : []),
  ];
  const policy = new aws.iam.RolePolicy(
    `${name}-policy`,
    { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) },
    opts,
  );

  const fn = new aws.lambda.Function(
    name,
    applyTransform<aws.lambda.FunctionArgs>(
      {
        name: functionName,
        description: args.description,
        runtime: LAMBDA_RUNTIME,
        architectures: [LAMBDA_ARCHITECTURE],
        handler: args.handler,
        code: args.code,
        role: role.arn,
        memorySize: memoryMb,
        timeout: timeoutSeconds,
        environment: { variables: { ...args.environment } },
        loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: SYSTEM_LOG_LEVEL },
        // Explicit PassThrough, so turning tracing off really turns it off on the next update.
        tracingConfig: { mode: args.tracing ? "Active" : "PassThrough" },
        ...(reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: reservedConcurrency }),
      },
      args.transform?.function,
    ),
    { parent, dependsOn: [policy, logGroup] },
  );

  return { function: fn, role, logGroup };
}
