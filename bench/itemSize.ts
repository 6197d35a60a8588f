/**
 * What a typical event costs DynamoDB: the stored item as the ingest handler builds it (the same
 * reader, schema and enrichment), measured with the handler's own size accounting, where
 * attribute names count. 1 write unit covers an item of up to 1 KB.
 */
import { newEventId } from "../handlers/lib/primitives/ids";
import { readJson } from "../handlers/lib/primitives/json";
import { buildEventRecord, dynamoItemSize, type EventRecord } from "../handlers/lib/events/record";
import { EventInputSchema } from "../handlers/lib/events/schema";
import { DYNAMODB_ITEM_OVERHEAD_BYTES, writeUnitsPerEvent } from "../cost/model";
import { INGEST_SETTINGS, SINGLE_EVENT_MAX_DEPTH, typicalEventBody, TYPICAL_EVENT_BYTES } from "./lib/fixtures";

/** API Gateway HTTP API request ids look like this (16 characters). */
const GATEWAY_REQUEST_ID = "J2yJ0hq3liAEMfg=";
const API_KEY_ID = "0123456789abcdef";

export function typicalRecord(options: { idempotencyKey?: string; nowMs?: number } = {}): EventRecord {
  const nowMs = options.nowMs ?? Date.now();
  const parsed = EventInputSchema.safeParse(readJson(typicalEventBody(), { maxDepth: SINGLE_EVENT_MAX_DEPTH }));
  if (!parsed.success) throw new Error("the typical event does not pass the schema");
  return buildEventRecord(parsed.data, {
    eventId: newEventId(nowMs),
    nowMs,
    receivedAtMs: nowMs,
    requestId: GATEWAY_REQUEST_ID,
    source: { api_key_id: API_KEY_ID },
    statusIndexShards: INGEST_SETTINGS.statusIndexShards,
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
  });
}

export interface ItemSizeResult {
  typical_request_bytes: number;
  typical_stored_bytes: number;
  /** With a 36-character Idempotency-Key (a UUID), which is stored too. */
  with_idempotency_key_stored_bytes: number;
  /** Write units of one put: the table plus the status index (ALL projection copies the item). */
  write_units_per_event: number;
  /** Billed storage per event: the item in the table and in the index, each with its overhead. */
  billed_storage_bytes_per_event: number;
}

export function measureItemSize(): ItemSizeResult {
  const stored = dynamoItemSize(typicalRecord() as unknown as Record<string, unknown>);
  const withKey = dynamoItemSize(typicalRecord({ idempotencyKey: "6f1c2a4e-8d3b-4c7a-9e15-2b7d9f0c4a11" }) as unknown as Record<string, unknown>);
  return {
    typical_request_bytes: TYPICAL_EVENT_BYTES,
    typical_stored_bytes: stored,
    with_idempotency_key_stored_bytes: withKey,
    write_units_per_event: writeUnitsPerEvent(stored),
    billed_storage_bytes_per_event: 2 * (stored + DYNAMODB_ITEM_OVERHEAD_BYTES),
  };
}
