/** Limits that DynamoDB or this API impose on an event, checked before any write. */
export const LIMITS = {
  /** DynamoDB nests at most 32 levels; the `payload` map is level 1. */
  maxPayloadDepth: 32,
  /** DynamoDB's item size limit, in bytes of attribute names plus values. */
  maxItemBytes: 400 * 1024,
  eventTypeMaxLength: 100,
  idempotencyKeyMaxLength: 255,
  metadataMaxKeys: 50,
  metadataKeyMaxLength: 100,
  metadataValueMaxLength: 1024,
  /** POST /events/batch: events per request and decompressed body bytes. */
  batchMaxEvents: 100,
  batchMaxBytes: 1024 * 1024,
  /** GET /events and GET /inbox page sizes. */
  listDefaultLimit: 25,
  listMaxLimit: 100,
  /**
   * Per GET /events or /inbox request (ADR 0022): no Query starts after this many calls (or one
   * per shard, when a listing has more shards), nor once this many read units were consumed.
   */
  listMaxQueries: 32,
  listMaxReadUnits: 64,
  /** Items per Query when an event_type filter discards most of what a Query reads. */
  listFilteredPageSize: 25,
} as const;

/** How long a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;
