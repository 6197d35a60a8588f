/**
 * Table definitions: the one home for key names, index names and attribute types.
 * EventStore and ApiKeyAuthorizer create tables from these, the local stack creates
 * its dynalite tables from these, and the handlers build their keys from these.
 */

export type AttributeType = "S" | "N" | "B";

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /** Attributes besides the keys that the index holds: all of them, or exactly these. */
  readonly projection: { readonly type: "ALL" } | { readonly type: "INCLUDE"; readonly nonKeyAttributes: readonly string[] };
}

export interface TableDefinition {
  /** Suffix of the physical name: `${project}-${stack}-${purpose}`. */
  readonly purpose: string;
  readonly partitionKey: KeyAttribute;
  /** Set for tables whose items share a partition (the deliveries table). */
  readonly sortKey?: KeyAttribute;
  readonly indexes: readonly IndexDefinition[];
  /** Attribute DynamoDB's TTL sweeper reads, when TTL is enabled. */
  readonly ttlAttribute?: string;
}

/**
 * Index over `status_shard` (`<status>#<n>`) sorted by `created_at`. It holds what a listing page
 * returns of an event, but never an encoded payload (`payload_br`) nor what readers never see
 * (`idempotency_key`, `request_sha256`): an index write then costs about one write unit instead of
 * the whole item, also when an ack moves the event to another shard. A small payload (stored as a
 * map) is listed straight from the index; an event whose payload is encoded (`storage_format` 2)
 * is read from the table with BatchGetItem (ADR 0035, amending ADR 0007). An attribute added to
 * events that listings must return belongs in this list.
 */
export const STATUS_INDEX: IndexDefinition = {
  name: "status-created_at",
  partitionKey: { name: "status_shard", type: "S" },
  sortKey: { name: "created_at", type: "S" },
  projection: {
    type: "INCLUDE",
    nonKeyAttributes: [
      "event_type",
      "payload",
      "metadata",
      "occurred_at",
      "received_at",
      "request_id",
      "source",
      "status",
      "delivery_attempts",
      "delivered_at",
      "ttl",
      "schema_version",
      "storage_format",
      "payload_bytes",
    ],
  },
};

export const EVENTS_TABLE: TableDefinition = {
  purpose: "events",
  partitionKey: { name: "event_id", type: "S" },
  indexes: [STATUS_INDEX],
  ttlAttribute: "ttl",
};

export const API_KEYS_TABLE: TableDefinition = {
  purpose: "api-keys",
  partitionKey: { name: "key_id", type: "S" },
  indexes: [],
};

/**
 * The delivery log (only when subscriptions exist): per event, one state item per matching
 * subscription (`sub#<name>`: pending, delivered or failed, its attempt count and webhook-id) and
 * one item per attempt (`attempt#<name>#<iso time>#<n>`: status or error, latency, the first 1 KB
 * of the answer). Items expire through `ttl` (docs/adr/0031).
 */
export const DELIVERIES_TABLE: TableDefinition = {
  purpose: "deliveries",
  partitionKey: { name: "event_id", type: "S" },
  sortKey: { name: "attempt_key", type: "S" },
  indexes: [],
  ttlAttribute: "ttl",
};

/** Every attribute a table definition names, deduplicated, for AttributeDefinitions. */
export function keyAttributes(table: TableDefinition): KeyAttribute[] {
  const byName = new Map<string, KeyAttribute>();
  for (const attr of [table.partitionKey, ...(table.sortKey ? [table.sortKey] : []), ...table.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    byName.set(attr.name, attr);
  }
  return [...byName.values()];
}

/** Environment variables the handlers read; the Pulumi program and the local stack set them. */
export const ENV = {
  eventsTable: "EVENTS_TABLE_NAME",
  apiKeysTable: "API_KEYS_TABLE_NAME",
  statusIndexShards: "STATUS_INDEX_SHARDS",
  retentionDays: "EVENT_RETENTION_DAYS",
  maxEventBytes: "MAX_EVENT_BYTES",
  /** The event catalogue's policy (docs/adr/0037); absent means off / allow. */
  catalogMode: "CATALOG_MODE",
  unknownEventTypes: "UNKNOWN_EVENT_TYPES",
  /** The webhook function's body limit (config maxWebhookBytes); POST /events keeps MAX_EVENT_BYTES. */
  maxWebhookBytes: "MAX_WEBHOOK_BYTES",
  /** The claim check's bucket (ADR 0035): payloads too large for an item, even compressed. */
  payloadBucket: "PAYLOAD_BUCKET_NAME",
  /** Set only in queued mode: the ingest function sends here, the processor changes visibility here. */
  ingestQueueUrl: "INGEST_QUEUE_URL",
} as const;
