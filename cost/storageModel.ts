/**
 * What storing one event costs in DynamoDB (and S3, for a claim-checked payload) over its life:
 * the write, the status index's write, an ack (the item rewritten and moved between index
 * shards), its share of a listing page of 25, and storage — before ADR 0035 (payload as a map,
 * index projecting ALL) and after (compressed from 1 KB on, index without the encoded payload,
 * claim check beyond the item limit). Item sizes are computed by the handlers' own code
 * (`storedItem`, `dynamoItemSize`) on a real record, so the model moves with the format.
 */
import { buildEventRecord, CLAIM_CHECK_MIN_ITEM_BYTES, dynamoItemSize, storedItem, type EventRecord } from "../handlers/lib/events/record";
import { readJson } from "../handlers/lib/primitives/json";
import { LIMITS } from "../handlers/lib/primitives/limits";
import { STATUS_INDEX } from "../handlers/lib/primitives/tables";

export interface StoragePrices {
  writeUnitUsdPerMillion: number;
  readUnitUsdPerMillion: number;
  storageUsdPerGbMonth: number;
  s3PutUsdPerMillion: number;
  s3GetUsdPerMillion: number;
  s3StorageUsdPerGbMonth: number;
}

export interface StorageCost {
  payloadBytes: number;
  /** Bytes of the item (table), and of its status-index entry. */
  itemBytes: number;
  indexBytes: number;
  claimChecked: boolean;
  objectBytes: number;
  /** Write units: the first write (table + index), one ack (table + index delete + put). */
  writeUnits: { write: number; indexWrite: number; ack: number; ackIndex: number; total: number };
  /** Read units this event adds to a listing page (eventually consistent Query, BatchGetItem). */
  listReadUnits: number;
  s3Requests: { puts: number; getsPerRead: number };
  /** USD per million events: writes + one ack + one listing read + S3 + a month of storage. */
  usdPerMillion: number;
}

const KB = 1024;
/** DynamoDB stores 100 bytes of overhead per item, in the table and in each index. */
const ITEM_OVERHEAD_BYTES = 100;
const INDEX_ATTRIBUTES = new Set(["event_id", STATUS_INDEX.partitionKey.name, STATUS_INDEX.sortKey.name, ...(STATUS_INDEX.projection.type === "INCLUDE" ? STATUS_INDEX.projection.nonKeyAttributes : [])]);

/** A record as the webhook route stores one: a delivery id as idempotency key, GitHub as source. */
export function sampleRecord(payloadText: string): EventRecord {
  const payload = readJson(payloadText, { maxDepth: LIMITS.maxPayloadDepth + 1 }) as Record<string, unknown>;
  return buildEventRecord(
    { event_type: "github.pull_request", payload },
    { eventId: "evt_01KPZ3B2X4Y5Z6A7B8C9D0E1F2", nowMs: Date.UTC(2026, 11, 7), receivedAtMs: Date.UTC(2026, 11, 7), requestId: "req-0123456789abcdef", source: { webhook: "github", delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958" }, statusIndexShards: 8, retentionDays: 30, idempotencyKey: "72d3162e-cc78-11e3-81ab-4c9367dc0958" },
  );
}

const units = (bytes: number, per: number) => Math.max(1, Math.ceil(bytes / per));

export function storageCost(payloadText: string, format: "before" | "after", prices: StoragePrices): StorageCost {
  const record = sampleRecord(payloadText);
  const before = format === "before";
  let item: Record<string, unknown> = before ? (record as unknown as Record<string, unknown>) : (storedItem(record) as Record<string, unknown>);
  let objectBytes = 0;
  if (!before && dynamoItemSize(item) > CLAIM_CHECK_MIN_ITEM_BYTES) {
    objectBytes = (item.payload_br as Uint8Array).byteLength;
    const { payload_br: _b, ...rest } = item;
    item = { ...rest, payload_object: "events/evt_01KPZ3B2X4Y5Z6A7B8C9D0E1F2/0123456789abcdef0123456789abcdef.json.br" };
  }
  return itemStorageCost(item, format, prices, { payloadBytes: Buffer.byteLength(payloadText), objectBytes });
}

/**
 * The storage path of one stored item (as the table holds it): `before`, the status index projects
 * ALL (its entry is the whole item); `after`, it projects STATUS_INDEX's attributes. `npm run bench`
 * prices the items the ingest bundles actually sent with it (bench/large.ts).
 */
export function itemStorageCost(item: Record<string, unknown>, format: "before" | "after", prices: StoragePrices, sizes: { payloadBytes: number; objectBytes?: number }): StorageCost {
  const before = format === "before";
  const itemBytes = dynamoItemSize(item);
  const claimChecked = typeof item.payload_object === "string";
  const objectBytes = claimChecked ? (sizes.objectBytes ?? 0) : 0;
  const indexItem = before ? item : Object.fromEntries(Object.entries(item).filter(([k]) => INDEX_ATTRIBUTES.has(k)));
  const indexBytes = dynamoItemSize(indexItem);
  const write = units(itemBytes, KB);
  const indexWrite = units(indexBytes, KB);
  // An ack rewrites the item (billed by its larger version) and moves its index entry: delete + put.
  const ack = write;
  const ackIndex = 2 * indexWrite;
  const total = write + indexWrite + ack + ackIndex;
  // Its share of a page of 25: Query over index entries (0.5 unit per 4 KB, summed), plus, after,
  // a BatchGetItem of the item when the index does not hold the payload (0.5 per 4 KB, per item).
  const encoded = !before && item.storage_format !== undefined;
  const listReadUnits = (indexBytes / (4 * KB)) * 0.5 + (encoded ? units(itemBytes, 4 * KB) * 0.5 : 0);
  const getsPerRead = claimChecked ? 1 : 0;
  const storedGb = ((itemBytes + ITEM_OVERHEAD_BYTES + indexBytes + ITEM_OVERHEAD_BYTES) * 1e6) / 1024 ** 3;
  const usdPerMillion =
    total * prices.writeUnitUsdPerMillion +
    listReadUnits * prices.readUnitUsdPerMillion +
    (claimChecked ? prices.s3PutUsdPerMillion + getsPerRead * prices.s3GetUsdPerMillion : 0) +
    storedGb * prices.storageUsdPerGbMonth +
    ((objectBytes * 1e6) / 1024 ** 3) * prices.s3StorageUsdPerGbMonth;
  return {
    payloadBytes: sizes.payloadBytes,
    itemBytes,
    indexBytes,
    claimChecked,
    objectBytes,
    writeUnits: { write, indexWrite, ack, ackIndex, total },
    listReadUnits,
    s3Requests: { puts: claimChecked ? 1 : 0, getsPerRead },
    usdPerMillion,
  };
}
