/**
 * EventStore: the events table, the narrow grants the functions need on it, and `onEvent`, which
 * attaches consumers of new events as inline Lambda callbacks (components/EventConsumer.ts).
 *
 * The status index's partition key is `<status>#<shard>`, spread over `statusIndexShards`
 * partitions, so pending events do not all land in one index partition (whose write rate would
 * cap the whole system, because a GSI that cannot keep up throttles writes to the table).
 *
 * The payload bucket is the claim check (ADR 0035): an event whose payload is too large for an
 * item even compressed is stored as an S3 object under `events/`, written before the item that
 * names it. Encrypted, never public, TLS only, its objects expire with the table's retention.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EventsTableAction, PayloadObjectAction } from "../handlers/routes";
import { eventStoreEnvironment, type CatalogPolicy } from "../handlers/lib/ops/config";
import { EVENTS_TABLE, keyAttributes, STATUS_INDEX, type TableDefinition } from "../handlers/lib/primitives/tables";
import { EventConsumer, type EventConsumerHandler, type EventConsumerOptions } from "./EventConsumer";
import type { GrantStatement } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

export interface EventStoreArgs {
  /**
   * Let DynamoDB delete events `retentionDays` after they were created (the `ttl` attribute).
   * @default false
   */
  enableTtl?: boolean;
  /**
   * TTL horizon in days; only used when `enableTtl` is on.
   * @default 30
   * @example 365
   */
  retentionDays?: number;
  /** Continuous backups with point-in-time recovery (35 days). @default false */
  enablePitr?: boolean;
  /** Refuse to delete the table, also through `pulumi destroy`. @default false */
  deletionProtection?: boolean;
  /**
   * Partitions of the status index. More shards spread write load; reads query every shard.
   * @default 8
   */
  statusIndexShards?: number;
  /**
   * Encryption at rest. `"aws-managed"` uses the `aws/dynamodb` KMS key (auditable in CloudTrail,
   * no monthly fee); a key ARN uses your own customer managed key.
   * @default "aws-managed"
   */
  encryption?: "aws-managed" | { kmsKeyArn: pulumi.Input<string> };
  /**
   * Turn on the table's stream (NEW_IMAGE) so `onEvent` can attach consumers. The table is
   * created here, before any consumer exists, so a stack that attaches consumers says so up front
   * (index.ts sets this from the same config that creates its consumer); `onEvent` refuses to
   * attach to a table without a stream.
   * @default false
   */
  stream?: boolean;
  /**
   * How the functions that write events apply the event catalogue (events/catalog.ts, bundled
   * into them): `mode` for declared types, `unknownEventTypes` for the rest (docs/adr/0037).
   * @default { mode: "off", unknownEventTypes: "allow" }
   * @example { mode: "enforce", unknownEventTypes: "reject" }
   */
  catalog?: CatalogPolicy;
  transform?: { table?: Transform<aws.dynamodb.TableArgs>; payloadBucket?: Transform<aws.s3.BucketArgs> };
}

/** Where claim-checked payloads live in the bucket; grants name this prefix, never the whole bucket. */
export const PAYLOAD_OBJECT_PREFIX = "events/";
/**
 * Days an object outlives its event's TTL: DynamoDB deletes expired items within a few days, not at
 * the second, and an item must never name an object already expired.
 */
export const PAYLOAD_EXPIRY_GRACE_DAYS = 2;

export class EventStore extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  readonly statusIndexArn: pulumi.Output<string>;
  readonly statusIndexShards: number;
  /** TTL horizon in days; undefined when TTL is off. */
  readonly retentionDays: number | undefined;
  /** The catalogue policy every function using this store gets in its environment. */
  readonly catalog: CatalogPolicy | undefined;
  /** The NEW_IMAGE stream's ARN; undefined unless created with `stream: true`. */
  readonly streamArn: pulumi.Output<string> | undefined;
  /** The claim check's bucket and its name (ADR 0035). */
  readonly payloadBucket: aws.s3.Bucket;
  readonly payloadBucketName: pulumi.Output<string>;
  /** Consumers attached with `onEvent`, in order. */
  readonly consumers: EventConsumer[] = [];
  private readonly componentName: string;
  private readonly kmsKeyArn: pulumi.Input<string> | undefined;

  constructor(name: string, args: EventStoreArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventStore", name, args, opts);
    this.componentName = name;
    const shards = requireInteger("EventStore", "statusIndexShards", args.statusIndexShards ?? 8, 1, 64);
    const retentionDays = args.enableTtl
      ? requireInteger("EventStore", "retentionDays", args.retentionDays ?? 30, 1, 36_500)
      : undefined;

    this.table = new aws.dynamodb.Table(
      `${name}-table`,
      applyTransform<aws.dynamodb.TableArgs>(
        {
          name: physicalName(EVENTS_TABLE.purpose, "dynamodbTable"),
          billingMode: "PAY_PER_REQUEST",
          ...tableKeys(EVENTS_TABLE),
          ttl: { attributeName: EVENTS_TABLE.ttlAttribute!, enabled: args.enableTtl ?? false },
          pointInTimeRecovery: { enabled: args.enablePitr ?? false },
          deletionProtectionEnabled: args.deletionProtection ?? false,
          serverSideEncryption: encryption(args.encryption),
          ...(args.stream ? { streamEnabled: true, streamViewType: "NEW_IMAGE" } : { streamEnabled: false }),
        },
        args.transform?.table,
      ),
      { parent: this },
    );
    this.tableName = this.table.name;
    this.tableArn = this.table.arn;
    this.statusIndexArn = pulumi.interpolate`${this.table.arn}/index/${STATUS_INDEX.name}`;
    this.statusIndexShards = shards;
    this.retentionDays = retentionDays;
    this.catalog = args.catalog;
    this.streamArn = args.stream ? this.table.streamArn : undefined;
    this.kmsKeyArn = typeof args.encryption === "object" ? args.encryption.kmsKeyArn : undefined;
    this.payloadBucket = createPayloadBucket(this, name, args, retentionDays);
    this.payloadBucketName = this.payloadBucket.bucket;

    this.registerOutputs({
      payloadBucketName: this.payloadBucketName,
      tableName: this.tableName,
      tableArn: this.tableArn,
      statusIndexArn: this.statusIndexArn,
      ...(this.streamArn ? { streamArn: this.streamArn } : {}),
    });
  }

  /**
   * Attaches a consumer of new events: `handler` (an inline callback, serialized by Pulumi) gets
   * each batch of inserted events from the table's stream, with retries, bisection and a
   * dead-letter queue as `options` say. Its role reads this stream and nothing else of the table.
   * Images are the stored form: call `decodedImage` (components/storedImage.ts) to get a
   * compressed payload (ADR 0035) back as the `payload` map.
   *
   * @example
   * store.onEvent("audit", async (event) => {
   *   for (const record of event.Records) console.log(decodedImage(record.dynamodb.NewImage!).payload);
   * });
   */
  onEvent(name: string, handler: EventConsumerHandler, options: EventConsumerOptions = {}): EventConsumer {
    if (this.streamArn === undefined) {
      throw new Error(`EventStore.onEvent("${name}"): the table has no stream; create the EventStore with stream: true`);
    }
    if (this.consumers.some((c) => c.consumerName === name)) {
      throw new Error(`EventStore.onEvent("${name}"): a consumer with this name is already attached`);
    }
    const consumer = new EventConsumer(
      `${this.componentName}-${name}`,
      {
        ...options,
        consumerName: name,
        handler,
        streamArn: this.streamArn,
        ...(this.kmsKeyArn === undefined ? {} : { kmsKeyArn: this.kmsKeyArn }),
      },
      { parent: this },
    );
    this.consumers.push(consumer);
    return consumer;
  }

  /** Environment variables a handler needs to use this store. */
  functionEnvironment(maxEventBytes: number): Record<string, pulumi.Input<string>> {
    return eventStoreEnvironment<pulumi.Input<string>>({
      eventsTable: this.tableName,
      statusIndexShards: this.statusIndexShards,
      maxEventBytes,
      ...(this.retentionDays === undefined ? {} : { retentionDays: this.retentionDays }),
      ...(this.catalog === undefined ? {} : { catalog: this.catalog }),
      payloadBucket: this.payloadBucketName,
    });
  }

  /**
   * IAM statements for exactly `actions` on the claim check's objects (`<bucket>/events/*`), never
   * the bucket itself. When the bucket is encrypted with the table's own KMS key, S3 uses that key
   * as the caller: a PutObject needs `kms:GenerateDataKey` on it, a GetObject `kms:Decrypt` (S3 User
   * Guide, "Using server-side encryption with AWS KMS keys"); a DeleteObject needs nothing of KMS.
   */
  grantPayloadObjects(actions: readonly PayloadObjectAction[]): GrantStatement[] {
    if (actions.length === 0) return [];
    const statements: GrantStatement[] = [{ Effect: "Allow", Action: [...actions], Resource: [pulumi.interpolate`${this.payloadBucket.arn}/${PAYLOAD_OBJECT_PREFIX}*`] }];
    const keyActions = [...(actions.includes("s3:PutObject") ? ["kms:GenerateDataKey"] : []), ...(actions.includes("s3:GetObject") ? ["kms:Decrypt"] : [])];
    if (this.kmsKeyArn !== undefined && keyActions.length > 0) statements.push({ Effect: "Allow", Action: keyActions, Resource: [this.kmsKeyArn] });
    return statements;
  }

  /**
   * IAM statements for exactly `actions`: item actions on the table ARN, Query on the status
   * index ARN only. Empty when `actions` is empty.
   */
  grant(actions: readonly EventsTableAction[]): GrantStatement[] {
    const itemActions = actions.filter((a) => a !== "dynamodb:Query");
    const statements: GrantStatement[] = [];
    if (itemActions.length > 0) statements.push({ Effect: "Allow", Action: [...itemActions], Resource: [this.tableArn] });
    if (actions.includes("dynamodb:Query")) {
      statements.push({ Effect: "Allow", Action: ["dynamodb:Query"], Resource: [this.statusIndexArn] });
    }
    return statements;
  }
}

/**
 * The claim check's bucket: SSE-S3 (or the table's own KMS key), every public access blocked, a
 * policy that refuses requests without TLS, and a lifecycle that expires objects with the table's
 * retention (plus PAYLOAD_EXPIRY_GRACE_DAYS) and aborts multipart uploads left after a day.
 * Without TTL the table keeps events forever, and so does the bucket.
 */
function createPayloadBucket(parent: EventStore, componentName: string, args: EventStoreArgs, retentionDays: number | undefined): aws.s3.Bucket {
  const name = `${componentName}-payloads`;
  const opts = { parent };
  const bucket = new aws.s3.Bucket(name, applyTransform<aws.s3.BucketArgs>({ forceDestroy: !(args.deletionProtection ?? false) }, args.transform?.payloadBucket), opts);
  new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, opts);
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
  const kmsKeyArn = typeof args.encryption === "object" ? args.encryption.kmsKeyArn : undefined;
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    {
      bucket: bucket.id,
      rules: [
        kmsKeyArn === undefined
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true },
      ],
    },
    opts,
  );
  new aws.s3.BucketPolicy(
    `${name}-tls-only`,
    {
      bucket: bucket.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyWithoutTls",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    },
    opts,
  );
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-lifecycle`,
    {
      bucket: bucket.id,
      rules: [
        ...(retentionDays === undefined
          ? []
          : [{ id: "expire-with-the-table", status: "Enabled", filter: { prefix: PAYLOAD_OBJECT_PREFIX }, expiration: { days: retentionDays + PAYLOAD_EXPIRY_GRACE_DAYS } }]),
        { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
      ],
    },
    opts,
  );
  return bucket;
}

/** Key schema, attribute definitions and indexes of a table definition, in provider terms. */
export function tableKeys(definition: TableDefinition): Pick<aws.dynamodb.TableArgs, "hashKey" | "rangeKey" | "attributes" | "globalSecondaryIndexes"> {
  return {
    hashKey: definition.partitionKey.name,
    ...(definition.sortKey ? { rangeKey: definition.sortKey.name } : {}),
    attributes: keyAttributes(definition).map((a) => ({ name: a.name, type: a.type })),
    globalSecondaryIndexes: definition.indexes.map((index) => ({
      name: index.name,
      keySchemas: [
        { attributeName: index.partitionKey.name, keyType: "HASH" },
        { attributeName: index.sortKey.name, keyType: "RANGE" },
      ],
      ...(index.projection.type === "ALL"
        ? { projectionType: "ALL" }
        : { projectionType: "INCLUDE", nonKeyAttributes: [...index.projection.nonKeyAttributes] }),
    })),
  };
}

function encryption(choice: EventStoreArgs["encryption"]): aws.types.input.dynamodb.TableServerSideEncryption {
  if (choice === undefined || choice === "aws-managed") return { enabled: true };
  return { enabled: true, kmsKeyArn: choice.kmsKeyArn };
}
