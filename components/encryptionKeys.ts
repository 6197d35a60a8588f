/**
 * Customer managed KMS keys and their key policies: the log key (config logEncryption) and the
 * pipeline topic keys. Every key rotates yearly, and its policy names actions one by one: the
 * account may administer the key through IAM but may use it for cryptography only through the
 * one service the key exists for. A key policy's `Resource` is always `"*"`, which in a key
 * policy means "this key" (the only value KMS accepts there).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, physicalName, type Transform } from "./naming";

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

/**
 * Where the key lives: the account, region and partition the program deploys to. ARNs and service
 * names differ by partition (`arn:aws-cn:…`, `logs.cn-north-1.amazonaws.com.cn`), so both come from
 * the provider (`aws.getPartition()`), never a hard-coded `arn:aws:`.
 */
export interface KeyScope {
  account: string;
  region: string;
  /** `aws`, `aws-cn`, `aws-us-gov`, … */
  partition: string;
  /** The partition's DNS suffix: `amazonaws.com`, `amazonaws.com.cn`, … */
  dnsSuffix: string;
}

/** `arn:<partition>:iam::<account>:root`: the account, as a principal. */
export function accountRoot(scope: KeyScope): string {
  return `arn:${scope.partition}:iam::${scope.account}:root`;
}

/** A regional service's name in key policies (principal, kms:ViaService): `logs.eu-north-1.amazonaws.com`. */
export function regionalService(scope: KeyScope, service: string): string {
  return `${service}.${scope.region}.${scope.dnsSuffix}`;
}

export function keyAdministration(scope: KeyScope): KeyPolicyStatement {
  return { Sid: "KeyAdministration", Effect: "Allow", Principal: { AWS: accountRoot(scope) }, Action: [...KEY_ADMINISTRATION_ACTIONS], Resource: "*" };
}

/** A log group's ARN as CloudWatch Logs puts it in the encryption context (no `:*`). */
export function logGroupArn(scope: KeyScope, name: string): string {
  return `arn:${scope.partition}:logs:${scope.region}:${scope.account}:log-group:${name}`;
}

/**
 * CloudWatch Logs in this region may use the key for exactly the named log groups: this stack's
 * own, listed one by one. A name pattern would also match another stack whose name starts with
 * this one's (`prod-*` matches `prod-eu-…`).
 */
export function logsKeyPolicy(scope: KeyScope, logGroupNames: readonly string[]): { Version: string; Statement: KeyPolicyStatement[] } {
  return {
    Version: "2012-10-17",
    Statement: [
      keyAdministration(scope),
      {
        Sid: "CloudWatchLogsOfThisStack",
        Effect: "Allow",
        Principal: { Service: regionalService(scope, "logs") },
        Action: [...LOGS_KEY_ACTIONS],
        Resource: "*",
        Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": [...new Set(logGroupNames)].sort().map((name) => logGroupArn(scope, name)) } },
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
        Principal: { AWS: accountRoot(scope) },
        Action: [...SNS_PUBLISH_KEY_ACTIONS],
        Resource: "*",
        Condition: {
          StringEquals: { "kms:ViaService": regionalService(scope, "sns"), "kms:CallerAccount": scope.account, "kms:EncryptionContext:aws:sns:topicArn": topicArn },
        },
      },
    ],
  };
}

/** The account, region and partition of the current provider, as Outputs. */
export function keyScope(parent: pulumi.Resource): pulumi.Output<KeyScope> {
  const identity = aws.getCallerIdentityOutput({}, { parent });
  const region = aws.getRegionOutput({}, { parent });
  const partition = aws.getPartitionOutput({}, { parent });
  return pulumi
    .all([identity.accountId, region.region, partition.partition, partition.dnsSuffix])
    .apply(([account, name, partitionName, dnsSuffix]) => ({ account, region: name, partition: partitionName, dnsSuffix }));
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
 * logEncryption). Pass it as `logKey` to every component that creates a log group (index.ts
 * does, for each): each log group is encrypted with it and named in its policy (`addLogGroup`); a
 * component given no key leaves its log groups on AWS-managed encryption. Call `seal()` once the
 * last component exists; the policy, and so the key and every log group, waits for it.
 * test/infra/pipeline.test.ts and logEncryption.test.ts check that every log group carries it.
 */
export class LogEncryptionKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly alias: aws.kms.Alias;
  readonly keyArn: pulumi.Output<string>;
  private readonly logGroupNames: pulumi.Input<string>[] = [];
  private resolveNames!: (names: pulumi.Input<string>[]) => void;
  private sealed = false;

  constructor(name: string, args: LogEncryptionKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:LogEncryptionKey", name, {}, opts);
    const names = new Promise<pulumi.Input<string>[]>((resolve) => (this.resolveNames = resolve));
    const policy = pulumi.all([keyScope(this), pulumi.output(names)]).apply(([scope, list]) => JSON.stringify(logsKeyPolicy(scope, list)));
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

  /** Lets CloudWatch Logs use the key for this log group (by its full name, e.g. `/aws/lambda/…`). */
  addLogGroup(logGroupName: pulumi.Input<string>): void {
    if (this.sealed) throw new Error(`LogEncryptionKey: log group ${String(logGroupName)} was created after seal(); create every component before sealing the key's policy`);
    this.logGroupNames.push(logGroupName);
  }

  /** The list of log groups is complete: the key's policy names exactly these. */
  seal(): void {
    this.sealed = true;
    this.resolveNames([...this.logGroupNames]);
  }
}
