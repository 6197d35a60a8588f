/**
 * The one helper that turns a handler entry into a Lambda function: an esbuild bundle built in
 * memory, arm64, the current Node.js LTS runtime, JSON logs into its own log group with a
 * retention, and its own role that may do exactly what the caller grants and nothing else.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUNDLE_FILE, BUNDLE_HANDLER, bundleHandler } from "./bundle";
import { applyTransform, physicalName, type Transform } from "./naming";

/** Lambda's current Node.js LTS runtime. */
export const LAMBDA_RUNTIME = aws.lambda.Runtime.NodeJS24dX;
export const LAMBDA_ARCHITECTURE = "arm64";

/** One IAM statement: named actions on named ARNs. */
export interface GrantStatement {
  Effect: "Allow";
  Action: string[];
  Resource: pulumi.Input<string>[];
}

export interface HandlerFunctionArgs {
  /** Handler module relative to the project root, e.g. `handlers/ingest.ts`; must export `handler`. */
  entry: string;
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
  transform?: {
    function?: Transform<aws.lambda.FunctionArgs>;
    role?: Transform<aws.iam.RoleArgs>;
    logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
  };
}

export interface HandlerFunction {
  function: aws.lambda.Function;
  role: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
}

/** Creates the function and its role, policy and log group as children of `parent`. */
export function createHandlerFunction(name: string, args: HandlerFunctionArgs, parent: pulumi.Resource): HandlerFunction {
  const opts = { parent };
  const functionName = physicalName(args.purpose);

  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    applyTransform<aws.cloudwatch.LogGroupArgs>(
      { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays ?? 14 },
      args.transform?.logGroup,
    ),
    opts,
  );

  const role = new aws.iam.Role(
    `${name}-role`,
    applyTransform<aws.iam.RoleArgs>(
      {
        name: functionName,
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

  const logStatement: GrantStatement = {
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: [pulumi.interpolate`${logGroup.arn}:*`],
  };
  const policy = new aws.iam.RolePolicy(
    `${name}-policy`,
    {
      role: role.id,
      policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [logStatement, ...(args.grants ?? [])] }),
    },
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
        handler: BUNDLE_HANDLER,
        code: new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundleHandler(args.entry)) }),
        role: role.arn,
        memorySize: args.memoryMb ?? 128,
        timeout: args.timeoutSeconds ?? 10,
        environment: { variables: { ...args.environment } },
        loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      },
      args.transform?.function,
    ),
    { parent, dependsOn: [policy, logGroup] },
  );

  return { function: fn, role, logGroup };
}
