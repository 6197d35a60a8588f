/**
 * The one write path for events, whatever their source (HTTP API, queued processor, webhooks, SNS
 * pipeline): a validated EventInput is enriched into an EventRecord (`prepare`, with the item-size
 * guard), then stored idempotently (`writeOne`, `writeMany`). Sources read and validate with
 * json.ts and schema.ts, then call this; they never build records or talk to the table themselves.
 */
import type { ProblemInit } from "./http";
import { idempotentEventId, newEventId } from "./ids";
import { LIMITS } from "./limits";
import { buildEventRecord, dynamoItemSize, type EventRecord, type EventSource } from "./record";
import type { EventInput } from "./schema";
import type { EventRepository } from "./store";
import { isOutcomeUnknown, isStorageUnavailable } from "./faults";

export interface EventWriterDependencies {
  repository: EventRepository;
  config: {
    statusIndexShards: number;
    /** TTL horizon in days; undefined when TTL is off. */
    retentionDays?: number;
  };
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** The facts of one arrival that enrichment records next to the input. */
export interface ArrivalFacts {
  /** Who sent the event: stored as `source`, and the namespace of an idempotent id. */
  origin: EventSource;
  /** The sender's idempotency key; the event id is then derived from origin + key. */
  idempotencyKey?: string;
  /** Stored as `request_id`: the API Gateway request id, SNS message id, … */
  requestId: string;
  /** When the origin received the event, epoch ms (e.g. API Gateway's request time); default now. */
  receivedAtMs?: number;
}

/** An enriched record ready to write, or the 413 problem for an item DynamoDB cannot store. */
export type Prepared = { ok: true; record: EventRecord } | { ok: false; problem: ProblemInit };

/** What storing one record came to. Storage faults are thrown by `writeOne`. */
export type WriteOutcome =
  | { status: 201; record: EventRecord }
  | { status: 200; record: EventRecord; duplicate: true }
  | { status: 422; problem: ProblemInit };

/**
 * A record `writeMany` could not store. `status` 503: storage throttled or unreachable after
 * retries, retry later; 500: anything else. `outcomeUnknown`: storage may have applied the write
 * without confirming it (a timeout, a lost response), so the caller must not say "not stored".
 */
export interface WriteFault {
  status: 503 | 500;
  error: unknown;
  outcomeUnknown: boolean;
}

export interface WriteManyOptions {
  /**
   * Conditional put for every record, never an unconditional batch write. For a caller whose
   * records may already be stored and changed since (a redelivered queue message whose event was
   * acknowledged in between): an overwrite would undo that change.
   * @default false
   */
  conditionalForAll?: boolean;
}

export interface EventWriter {
  /** Enrich a validated input; answers a 413 problem when the stored item would exceed 400 KB. */
  prepare(input: EventInput, facts: ArrivalFacts): Prepared;
  /**
   * Conditional put: 201 created; 200 duplicate (the same request was stored before, the stored
   * record is returned); 422 `idempotency_key_reused` (the key stored a different request).
   * Throws storage faults (see faults.ts to classify them).
   */
  writeOne(record: EventRecord): Promise<WriteOutcome>;
  /** Stores many records; one outcome or fault per record, in input order. Never throws a storage fault. */
  writeMany(records: readonly EventRecord[], options?: WriteManyOptions): Promise<(WriteOutcome | WriteFault)[]>;
}

/**
 * The idempotent-id namespace of an origin. An API key's is its bare key id (16 lowercase base32
 * characters), as it has been since the first release, so stored ids keep matching; other origins
 * carry a `kind:` prefix, which no key id contains, so no two origins share a namespace.
 */
export function idempotencyNamespace(origin: EventSource): string {
  if ("api_key_id" in origin) return origin.api_key_id;
  if ("webhook" in origin) return `webhook:${origin.webhook}`;
  return `pipeline:${origin.pipeline}`;
}

export function createEventWriter(deps: EventWriterDependencies): EventWriter {
  const now = deps.now ?? Date.now;
  const { statusIndexShards, retentionDays } = deps.config;

  function prepare(input: EventInput, facts: ArrivalFacts): Prepared {
    const nowMs = now();
    const { idempotencyKey } = facts;
    const record = buildEventRecord(input, {
      eventId: idempotencyKey === undefined ? newEventId(nowMs) : idempotentEventId(idempotencyNamespace(facts.origin), idempotencyKey),
      nowMs,
      receivedAtMs: facts.receivedAtMs ?? nowMs,
      requestId: facts.requestId,
      source: facts.origin,
      statusIndexShards,
      ...(retentionDays === undefined ? {} : { retentionDays }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    const itemBytes = dynamoItemSize(record as unknown as Record<string, unknown>);
    if (itemBytes <= LIMITS.maxItemBytes) return { ok: true, record };
    return {
      ok: false,
      problem: {
        status: 413,
        code: "item_too_large",
        title: "Event too large to store",
        detail: `the stored event would be ${itemBytes} bytes; DynamoDB's limit is ${LIMITS.maxItemBytes}`,
      },
    };
  }

  async function writeOne(record: EventRecord): Promise<WriteOutcome> {
    const outcome = await deps.repository.putNew(record);
    if (outcome.created) return { status: 201, record };
    if (outcome.existing.request_sha256 !== record.request_sha256) {
      return {
        status: 422,
        problem: {
          status: 422,
          code: "idempotency_key_reused",
          title: "Idempotency-Key reused with a different request",
          detail: "this Idempotency-Key already stored a different event; use a new key for a new event",
          errors: [{ header: "Idempotency-Key", detail: "already used for a different request body" }],
        },
      };
    }
    return { status: 200, record: outcome.existing, duplicate: true };
  }

  async function writeMany(records: readonly EventRecord[]): Promise<(WriteOutcome | WriteFault)[]> {
    return Promise.all(records.map((record) => writeOne(record).catch(writeFault)));
  }

  return { prepare, writeOne, writeMany };
}

/** Classifies a thrown storage error for a caller that answers per record. */
export function writeFault(error: unknown): WriteFault {
  return { status: isStorageUnavailable(error) ? 503 : 500, error, outcomeUnknown: isOutcomeUnknown(error) };
}

export function isWriteFault(result: WriteOutcome | WriteFault): result is WriteFault {
  return "error" in result;
}
