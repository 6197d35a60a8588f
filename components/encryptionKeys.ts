/**
 * Customer managed KMS keys and their key policies: the log key (config logEncryption) and the
 * pipeline topic keys. Every key rotates yearly, and its policy names actions one by one: the
 * account may administer the key through IAM but may use it for cryptography only through the
 * one service the key exists for. A key policy's `Resource` is always `"*"`, which in a key
 * policy means "this key" (the only value KMS accepts there).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, physicalName, stackNamePatterns, type Transform } from "./naming";

/** What the account (through IAM) may do to a key: manage it, never encrypt or decrypt with it. */
export const KEY_ADMINISTRATION_ACTIONS = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:ListKeyRotations",
  "kms:RotateKeyOnDemand",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
] as const;

/** What CloudWatch Logs does with a log group's key (the AWS-documented set, named one by one). */
export const LOGS_KEY_ACTIONS = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncryptFrom",
  "kms:ReEncryptTo",
  "kms:GenerateDataKey",
  "kms:GenerateDataKeyWithoutPlaintext",
  "kms:DescribeKey",
] as const;

/** What a publisher needs on an encrypted topic's key, through SNS. */
export const SNS_PUBLISH_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"] as const;

export interface KeyPolicyStatement {
  Sid: string;
  Effect: "Allow";
  Principal: { AWS: string } | { Service: string };
  Action: string[];
  Resource: "*";
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Where the key lives: the account and region the program deploys to. */
export interface KeyScope {
  account: string;
  region: string;
}

export function keyAdministration(scope: KeyScope): KeyPolicyStatement {
  return { Sid: "KeyAdministration", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${scope.account}:root` }, Action: [...KEY_ADMINISTRATION_ACTIONS], Resource: "*" };
}

/**
 * The log groups of this stack: every name is a physical name under `/aws/<service>/`
 * (`/aws/lambda/…`, `/aws/apigateway/…`, `/aws/vendedlogs/states/…`), which carries either
 * `${project}-${stack}-` or, when shortened for a long stack name, that prefix's hash. ArnLike
 * matches any of these patterns and no other stack's log group.
 */
export function stackLogGroupArnPatterns(scope: KeyScope): string[] {
  return stackNamePatterns().map((name) => `arn:aws:logs:${scope.region}:${scope.account}:log-group:/aws/*/${name}`);
}

/** CloudWatch Logs in this region may use the key, for this stack's log groups only. */
export function logsKeyPolicy(scope: KeyScope): { Version: string; Statement: KeyPolicyStatement[] } {
  return {
    Version: "2012-10-17",
    Statement: [
      keyAdministration(scope),
      {
        Sid: "CloudWatchLogsOfThisStack",
        Effect: "Allow",
        Principal: { Service: `logs.${scope.region}.amazonaws.com` },
        Action: [...LOGS_KEY_ACTIONS],
        Resource: "*",
        Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": stackLogGroupArnPatterns(scope) } },
      },
    ],
  };
}

/**
 * Principals of this account may use the key only through SNS in this region and only for the one
 * topic (SNS puts the topic ARN in the encryption context): what a publisher needs; IAM must still
 * grant it sns:Publish and these two actions. An AWS service that publishes (EventBridge,
 * CloudWatch alarms) needs a statement for its service principal; add it with `transform.topicKey`.
 */
export function topicKeyPolicy(scope: KeyScope, topicArn: string): { Version: string; Statement: KeyPolicyStatement[] } {
  return {
    Version: "2012-10-17",
    Statement: [
      keyAdministration(scope),
      {
        Sid: "PublishThroughSns",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${scope.account}:root` },
        Action: [...SNS_PUBLISH_KEY_ACTIONS],
        Resource: "*",
        Condition: {
          StringEquals: { "kms:ViaService": `sns.${scope.region}.amazonaws.com`, "kms:CallerAccount": scope.account, "kms:EncryptionContext:aws:sns:topicArn": topicArn },
        },
      },
    ],
  };
}

/** The account and region of the current provider, as Outputs. */
export function keyScope(parent: pulumi.Resource): pulumi.Output<KeyScope> {
  const identity = aws.getCallerIdentityOutput({}, { parent });
  const region = aws.getRegionOutput({}, { parent });
  return pulumi.all([identity.accountId, region.region]).apply(([account, name]) => ({ account, region: name }));
}

export interface CustomerManagedKey {
  key: aws.kms.Key;
  alias: aws.kms.Alias;
}

/** A rotating key with `policy` and an alias `alias/${project}-${stack}-${purpose}`; children of `parent`. */
export function createKey(
  name: string,
  args: { purpose: string; description: string; policy: pulumi.Input<string>; transform?: Transform<aws.kms.KeyArgs> },
  parent: pulumi.Resource,
): CustomerManagedKey {
  const key = new aws.kms.Key(
    `${name}-key`,
    applyTransform<aws.kms.KeyArgs>(
      { description: args.description, enableKeyRotation: true, deletionWindowInDays: 30, policy: args.policy },
      args.transform,
    ),
    { parent },
  );
  const alias = new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${physicalName(args.purpose, "kmsAlias")}`, targetKeyId: key.keyId }, { parent });
  return { key, alias };
}

export interface LogEncryptionKeyArgs {
  transform?: { key?: Transform<aws.kms.KeyArgs> };
}

/**
 * LogEncryptionKey: the one customer managed key for every log group of the stack (config
 * logEncryption). Pass `keyArn` as `logKmsKeyArn` to every component that creates a log group
 * (index.ts does, for each); a component given no key leaves its log groups on AWS-managed
 * encryption. test/infra/pipeline.test.ts and logEncryption.test.ts check that every log group
 * of the stack carries it.
 */
export class LogEncryptionKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly alias: aws.kms.Alias;
  readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: LogEncryptionKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:LogEncryptionKey", name, {}, opts);
    const policy = keyScope(this).apply((scope) => JSON.stringify(logsKeyPolicy(scope)));
    const created = createKey(
      name,
      { purpose: "logs", description: `Encrypts the CloudWatch log groups of the ${pulumi.getProject()}-${pulumi.getStack()} stack`, policy, ...(args.transform?.key ? { transform: args.transform.key } : {}) },
      this,
    );
    this.key = created.key;
    this.alias = created.alias;
    this.keyArn = this.key.arn;
    this.registerOutputs({ keyArn: this.keyArn });
  }
}
