/**
 * EventStore: the events table and the narrow grants the functions need on it.
 *
 * The status index's partition key is `<status>#<shard>`, spread over `statusIndexShards`
 * partitions, so pending events do not all land in one index partition (whose write rate would
 * cap the whole system, because a GSI that cannot keep up throttles writes to the table).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EventsTableAction } from "../handlers/routes";
import { eventStoreEnvironment } from "../handlers/lib/config";
import { EVENTS_TABLE, keyAttributes, STATUS_INDEX, type TableDefinition } from "../handlers/lib/tables";
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
  transform?: { table?: Transform<aws.dynamodb.TableArgs> };
}

export class EventStore extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  readonly statusIndexArn: pulumi.Output<string>;
  readonly statusIndexShards: number;
  /** TTL horizon in days; undefined when TTL is off. */
  readonly retentionDays: number | undefined;

  constructor(name: string, args: EventStoreArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:EventStore", name, args, opts);
    const shards = requireInteger("EventStore", "statusIndexShards", args.statusIndexShards ?? 8, 1, 64);
    const retentionDays = args.enableTtl
      ? requireInteger("EventStore", "retentionDays", args.retentionDays ?? 30, 1, 36_500)
      : undefined;

    this.table = new aws.dynamodb.Table(
      `${name}-table`,
      applyTransform<aws.dynamodb.TableArgs>(
        {
          name: physicalName(EVENTS_TABLE.purpose),
          billingMode: "PAY_PER_REQUEST",
          ...tableKeys(EVENTS_TABLE),
          ttl: { attributeName: EVENTS_TABLE.ttlAttribute!, enabled: args.enableTtl ?? false },
          pointInTimeRecovery: { enabled: args.enablePitr ?? false },
          deletionProtectionEnabled: args.deletionProtection ?? false,
          serverSideEncryption: encryption(args.encryption),
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

    this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn, statusIndexArn: this.statusIndexArn });
  }

  /** Environment variables a handler needs to use this store. */
  functionEnvironment(maxEventBytes: number): Record<string, pulumi.Input<string>> {
    return eventStoreEnvironment<pulumi.Input<string>>({
      eventsTable: this.tableName,
      statusIndexShards: this.statusIndexShards,
      maxEventBytes,
      ...(this.retentionDays === undefined ? {} : { retentionDays: this.retentionDays }),
    });
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

/** Key schema, attribute definitions and indexes of a table definition, in provider terms. */
export function tableKeys(definition: TableDefinition): Pick<aws.dynamodb.TableArgs, "hashKey" | "attributes" | "globalSecondaryIndexes"> {
  return {
    hashKey: definition.partitionKey.name,
    attributes: keyAttributes(definition).map((a) => ({ name: a.name, type: a.type })),
    globalSecondaryIndexes: definition.indexes.map((index) => ({
      name: index.name,
      keySchemas: [
        { attributeName: index.partitionKey.name, keyType: "HASH" },
        { attributeName: index.sortKey.name, keyType: "RANGE" },
      ],
      projectionType: "ALL",
    })),
  };
}

function encryption(choice: EventStoreArgs["encryption"]): aws.types.input.dynamodb.TableServerSideEncryption {
  if (choice === undefined || choice === "aws-managed") return { enabled: true };
  return { enabled: true, kmsKeyArn: choice.kmsKeyArn };
}
