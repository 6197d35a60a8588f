/**
 * The workload: a typical event of exactly 300 bytes of JSON (an order webhook with metadata and an
 * occurred_at), the 25-event batch made of it, and the settings the handlers run with here.
 */
import { LIMITS } from "../../handlers/lib/primitives/limits";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";

export const TYPICAL_EVENT_BYTES = 300;
export const BATCH_SIZE = 25;

/** The dev stack's settings (Pulumi.yaml defaults) that change what the ingest handler does. */
export const INGEST_SETTINGS = { statusIndexShards: 8, maxEventBytes: 65_536 } as const;

/** The nesting limit the ingest handler reads a single event with (the body is one level above the payload). */
export const SINGLE_EVENT_MAX_DEPTH = LIMITS.maxPayloadDepth + 1;

export const BENCH_EVENTS_TABLE = `event-ingestion-bench-${EVENTS_TABLE.purpose}`;

/** A typical event body, padded through `payload.note` to exactly `bytes` bytes of UTF-8 JSON. */
export function typicalEvent(bytes = TYPICAL_EVENT_BYTES, sequence = 1) {
  const event = {
    event_type: "order.created",
    payload: {
      order_id: `ord_${String(sequence).padStart(8, "0")}`,
      customer_id: "cus_41d7a2",
      total: 129.95,
      currency: "EUR",
      items: [
        { sku: "SKU-1042", qty: 2 },
        { sku: "SKU-2203", qty: 1 },
      ],
      note: "",
    },
    metadata: { source: "checkout", tenant: "acme" },
    occurred_at: "2026-11-22T10:00:00+01:00",
  };
  const missing = bytes - Buffer.byteLength(JSON.stringify(event), "utf8");
  if (missing < 0) throw new Error(`a typical event needs at least ${bytes - missing} bytes`);
  event.payload.note = "x".repeat(missing);
  return event;
}

export function typicalEventBody(sequence = 1): string {
  const body = JSON.stringify(typicalEvent(TYPICAL_EVENT_BYTES, sequence));
  if (Buffer.byteLength(body) !== TYPICAL_EVENT_BYTES) throw new Error("typical event is not 300 bytes");
  return body;
}

export function batchBody(size = BATCH_SIZE, sequence = 1): string {
  return JSON.stringify({ events: Array.from({ length: size }, (_, i) => typicalEvent(TYPICAL_EVENT_BYTES, sequence * size + i)) });
}
