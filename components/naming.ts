/** The one rule for physical names, and the SST-style `transform` escape hatch. */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/**
 * What AWS accepts as a name, per kind of resource. A new resource kind gets a row here and its
 * name from `physicalName(purpose, kind)`; never a hand-built string. Sources: each service's
 * API reference (CreateFunction, CreateRole, CreateQueue, CreateStateMachine, ...).
 */
export const NAME_RULES = {
  /** CreateFunction FunctionName: no `.`; its log group is `/aws/lambda/<name>`. */
  lambdaFunction: { maxLength: 64, allowed: /^[A-Za-z0-9_-]+$/ },
  /** IAM names are account-global: the region is part of the name (see `regional`). */
  iamRole: { maxLength: 64, allowed: /^[A-Za-z0-9_+=,.@-]+$/, regional: true },
  iamPolicy: { maxLength: 128, allowed: /^[A-Za-z0-9_+=,.@-]+$/, regional: true },
  /** 80 with the `.fifo` suffix of a FIFO queue, which the caller ends the purpose with. */
  sqsQueue: { maxLength: 80, allowed: /^[A-Za-z0-9_-]+(\.fifo)?$/ },
  stateMachine: { maxLength: 80, allowed: /^[A-Za-z0-9_-]+$/ },
  pipe: { maxLength: 64, allowed: /^[A-Za-z0-9_.-]+$/ },
  snsTopic: { maxLength: 256, allowed: /^[A-Za-z0-9_-]+(\.fifo)?$/ },
  dynamodbTable: { maxLength: 255, allowed: /^[A-Za-z0-9_.-]+$/ },
  eventBus: { maxLength: 256, allowed: /^[A-Za-z0-9_./-]+$/ },
  /** The part after `alias/`; `alias/aws/` is reserved for AWS. */
  kmsAlias: { maxLength: 250, allowed: /^[A-Za-z0-9_/-]+$/ },
  /** One path segment (or several joined by `/`) of a parameter name. */
  ssmParameter: { maxLength: 1011, allowed: /^[A-Za-z0-9_./-]+$/ },
  /** The part after `/aws/lambda/` or `/aws/apigateway/`; the whole name may be 512. */
  logGroup: { maxLength: 495, allowed: /^[A-Za-z0-9_./#-]+$/ },
  httpApi: { maxLength: 128, allowed: /^[A-Za-z0-9_.-]+$/ },
  apiAuthorizer: { maxLength: 128, allowed: /^[A-Za-z0-9_.-]+$/ },
  alarm: { maxLength: 255, allowed: /^[A-Za-z0-9_.-]+$/ },
  /** PutDashboard DashboardName. */
  dashboard: { maxLength: 255, allowed: /^[A-Za-z0-9_-]+$/ },
  /** The strictest common rule, for a kind without a row yet: safe wherever a name is accepted. */
  other: { maxLength: 64, allowed: /^[A-Za-z0-9_-]+$/ },
} as const satisfies Record<string, { maxLength: number; allowed: RegExp; regional?: boolean }>;

export type NameKind = keyof typeof NAME_RULES;

/** Characters of a purpose (chosen in code, so it must already be valid for every kind). */
const PURPOSE = /^[a-z0-9][a-z0-9-]*(\.fifo)?$/;
const HASH_LENGTH = 8;

/**
 * `${project}-${stack}-${purpose}`, e.g. `event-ingestion-dev-events`; for account-global kinds
 * (IAM) `${project}-${stack}-${purpose}-${region}`, so one stack in two regions does not collide.
 *
 * Pulumi allows stack names of 100 characters with `.`, which no AWS name rule would take as they
 * are. When `${project}-${stack}` has characters the kind refuses, or the name would be too long,
 * that prefix is shortened and made safe (`-` for refused characters) and ends in an 8-character
 * hash of the original, so two stacks never share a name. The purpose (and region) stay whole.
 * A purpose that cannot fit even then fails here, naming the limit and the name.
 */
export function physicalName(purpose: string, kind: NameKind = "other"): string {
  return deriveName({ project: pulumi.getProject(), stack: pulumi.getStack(), region: currentRegion(), purpose, kind });
}

/** The same rule as `physicalName`, with everything it depends on spelled out (for tests and the preview). */
export function deriveName(parts: { project: string; stack: string; region: string; purpose: string; kind: NameKind }): string {
  const rule: { maxLength: number; allowed: RegExp; regional?: boolean } = NAME_RULES[parts.kind];
  if (!PURPOSE.test(parts.purpose)) {
    throw new Error(`physical name purpose "${parts.purpose}" must match ${PURPOSE.source} (lowercase letters, digits and "-")`);
  }
  const suffix = rule.regional ? `${parts.purpose}-${parts.region}` : parts.purpose;
  const prefix = `${parts.project}-${parts.stack}`;
  const plain = `${prefix}-${suffix}`;
  if (plain.length <= rule.maxLength && rule.allowed.test(plain)) return plain;

  const hash = createHash("sha256").update(prefix).digest("hex").slice(0, HASH_LENGTH);
  if (HASH_LENGTH + 1 + suffix.length > rule.maxLength) {
    throw new Error(
      `physical name "${plain}" (${parts.kind}) is ${plain.length} characters; AWS allows ${rule.maxLength}, ` +
        `and even a shortened prefix leaves no room for "${suffix}": choose a shorter purpose`,
    );
  }
  // As much of the readable prefix as fits; when none does, the hash alone stands for it.
  const room = rule.maxLength - suffix.length - HASH_LENGTH - 2;
  const safePrefix = prefix
    .replace(/[^A-Za-z0-9-]/g, "-")
    .slice(0, Math.max(room, 0))
    .replace(/-+$/, "");
  const derived = safePrefix === "" ? `${hash}-${suffix}` : `${safePrefix}-${hash}-${suffix}`;
  if (!rule.allowed.test(derived)) throw new Error(`physical name "${derived}" (${parts.kind}) has characters AWS does not allow`);
  return derived;
}

/** The stack's region, as the AWS provider reads it: config `aws:region`, else the environment. */
export function currentRegion(): string {
  const region = new pulumi.Config("aws").get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("no AWS region: run `pulumi config set aws:region <region>` (the stack files set eu-north-1)");
  return region;
}

/**
 * Changes one underlying resource's arguments without forking the component: either a partial
 * set of arguments merged over ours, or a callback that edits them in place.
 */
export type Transform<T> = Partial<T> | ((args: T) => void);

export function applyTransform<T extends object>(args: T, transform: Transform<T> | undefined): T {
  if (transform === undefined) return args;
  if (typeof transform === "function") {
    transform(args);
    return args;
  }
  return { ...args, ...transform };
}

/** Fails at preview time with a message that says which argument to change. */
export function requireInteger(component: string, arg: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${component}: ${arg} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
