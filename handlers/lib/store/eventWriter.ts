/**
 * The one write path for events, whatever their source (HTTP API, queued processor, webhooks, SNS
 * pipeline): a validated EventInput is enriched into an EventRecord (`prepare`, with the item-size
 * guard), then stored idempotently (`writeOne`, `writeMany`). Sources read and validate with
 * json.ts and schema.ts, then call this; they never build records or talk to the table themselves.
 */
import type { ProblemInit } from "../http/http";
import { idempotentEventId, newEventId } from "../primitives/ids";
import { LIMITS } from "../primitives/limits";
import { buildEventRecord, dynamoItemSize, type EventRecord, type EventSource } from "../events/record";
import type { EventInput } from "../events/schema";
import { checkCatalog, type Catalog, type CatalogFindingSink } from "../events/catalog";
import { CATALOG_POLICY_OFF, type CatalogPolicy } from "../ops/config";
import { writeCatalogFinding } from "../ops/metrics";
import { BATCH_WRITE_MAX_ITEMS, type EventRepository, type PayloadObjectRef } from "./store";
import { isOutcomeUnknown, isStorageUnavailable } from "../primitives/faults";

export interface EventWriterDependencies {
  repository: EventRepository;
  config: {
    statusIndexShards: number;
    /** TTL horizon in days; undefined when TTL is off. */
    retentionDays?: number;
    /** How `catalog` is applied; off / allow when absent. */
    catalog?: CatalogPolicy;
  };
  /** The event catalogue (events/catalog.ts), checked in `prepare` under `config.catalog`. */
  catalog?: Catalog;
  /** Where flagged events are counted; by default one EMF metric line each. */
  onCatalogFinding?: CatalogFindingSink;
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
   * How long to keep retrying records that BatchWriteItem left unprocessed, in ms from the call.
   * No new call starts after it; one call already started can still take its full SDK retries.
   * @default UNPROCESSED_RETRY_BUDGET_MS
   */
  retryBudgetMs?: number;
}

export interface EventWriter {
  /**
   * Check a validated input against the event catalogue and enrich it; answers the catalogue's 400
   * (enforce / reject) or, without a claim check, a 413 problem when the item would exceed 400 KB.
   */
  prepare(input: EventInput, facts: ArrivalFacts): Prepared;
  /**
   * Conditional put: 201 created; 200 duplicate (the same request was stored before, the stored
   * record is returned); 422 `idempotency_key_reused` (the key stored a different request).
   * Throws storage faults (see faults.ts to classify them). `written`: the payload is already in
   * that S3 object (a claim-checked queue message, ADR 0043), and the item names it.
   */
  writeOne(record: EventRecord, written?: PayloadObjectRef): Promise<WriteOutcome>;
  /**
   * Stores many records; one outcome or fault per record, in input order; never throws a storage
   * fault. Records with an idempotency key get `writeOne`'s conditional put; the others (fresh
   * random ids) go through BatchWriteItem, 25 per call, retrying what DynamoDB leaves unprocessed
   * with backoff for `retryBudgetMs`; what is still unprocessed then is a 503 fault.
   */
  writeMany(records: readonly EventRecord[], options?: WriteManyOptions): Promise<(WriteOutcome | WriteFault)[]>;
}

/**
 * The idempotent-id namespace of an origin. An API key's is its bare key id (16 lowercase base32
 * characters), as it has been since the first release, so stored ids keep matching; other origins
 * carry a `kind:` prefix, which no key id contains, so no two origins share a namespace.
 */
export function idempotencyNamespace(origin: EventSource): string {
  if (Object.hasOwn(origin, "api_key_id")) return (origin as { api_key_id: string }).api_key_id;
  if (Object.hasOwn(origin, "webhook")) return `webhook:${(origin as { webhook: string }).webhook}`;
  return `pipeline:${(origin as { pipeline: string }).pipeline}`;
}

/**
 * The time writeMany keeps retrying unprocessed items. With the ingest function's 10 s timeout:
 * 2.5 s of retries, then at most one more call, which the client settings bound to about 6.2 s
 * (store.ts), so the client gets a 503 rather than a Lambda timeout (a test checks the sum
 * against HANDLERS.ingest).
 */
export const UNPROCESSED_RETRY_BUDGET_MS = 2_500;

/** Backoff before retrying unprocessed items: full jitter over 50 ms × 2^n, at most 1 s. */
function backoffMs(retry: number): number {
  return Math.random() * Math.min(1_000, 50 * 2 ** retry);
}

/** DynamoDB left these records unprocessed (throttled) until the retry budget ran out. */
export class UnprocessedItemsError extends Error {
  override readonly name = "UnprocessedItems";
  constructor(count: number) {
    super(`DynamoDB left ${count} item(s) unprocessed until the retry budget ran out`);
  }
}

export function createEventWriter(deps: EventWriterDependencies): EventWriter {
  const now = deps.now ?? Date.now;
  const { statusIndexShards, retentionDays } = deps.config;
  const catalog = deps.catalog ?? { types: {} };
  const catalogPolicy = deps.config.catalog ?? CATALOG_POLICY_OFF;
  const onCatalogFinding = deps.onCatalogFinding ?? writeCatalogFinding;

  function prepare(input: EventInput, facts: ArrivalFacts): Prepared {
    const verdict = checkCatalog(catalog, catalogPolicy, input, onCatalogFinding);
    if (!verdict.ok) return verdict;
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
      ...(verdict.stamp === undefined ? {} : { catalog: verdict }),
    });
    // With a claim check any payload the API accepts can be stored (compressed, or in S3: ADR 0035);
    // without one, the uncompressed item must fit, as it always had to.
    if (deps.repository.claimCheck) return { ok: true, record };
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

  async function writeOne(record: EventRecord, written?: PayloadObjectRef): Promise<WriteOutcome> {
    const outcome = await deps.repository.putNew(record, written);
    if (outcome.created) return { status: 201, record };
    const { existing } = outcome;
    if (record.idempotency_key === undefined) {
      // A fresh id is taken only by this very record, written before (a redelivered queue
      // message; the processor writes each with writeOne, never a batch write that would
      // overwrite an event acknowledged since). Anything else is an id collision, never a duplicate.
      if (existing.request_id === record.request_id && existing.created_at === record.created_at) return { status: 200, record: existing, duplicate: true };
      throw new Error("a fresh event id is already taken by a different event");
    }
    return repeatOutcome(existing, record);
  }

  async function writeMany(records: readonly EventRecord[], options: WriteManyOptions = {}): Promise<(WriteOutcome | WriteFault)[]> {
    const deadline = performance.now() + (options.retryBudgetMs ?? UNPROCESSED_RETRY_BUDGET_MS);
    const results: (WriteOutcome | WriteFault)[] = new Array(records.length);
    const batchable = (record: EventRecord) => record.idempotency_key === undefined;
    const fresh = records.flatMap((record, index) => (batchable(record) ? [index] : []));
    const conditional = records.flatMap((record, index) => (batchable(record) ? [] : [index]));
    const chunks: number[][] = [];
    for (let i = 0; i < fresh.length; i += BATCH_WRITE_MAX_ITEMS) chunks.push(fresh.slice(i, i + BATCH_WRITE_MAX_ITEMS));
    await Promise.all([
      ...conditional.map(async (index) => {
        results[index] = await writeOne(records[index]!).catch(writeFault);
      }),
      ...chunks.map((chunk) => writeChunk(records, chunk, results, deadline)),
    ]);
    return results;
  }

  /**
   * Writes `records[i]` for each i in `chunk` (≤ 25) with BatchWriteItem until every one is stored,
   * a call fails, or the retry budget is spent; sets `results[i]`.
   */
  async function writeChunk(records: readonly EventRecord[], chunk: number[], results: (WriteOutcome | WriteFault)[], deadline: number): Promise<void> {
    /** Indexes an earlier, unconfirmed attempt may have written although they came back unprocessed. */
    const mayBeStored = new Set<number>();
    let pending = chunk;
    for (let retry = 0; ; retry++) {
      try {
        const { unprocessed, retried } = await deps.repository.putBatch(pending.map((i) => records[i]!));
        const left = new Set(unprocessed.map((record) => record.event_id));
        for (const i of pending) if (!left.has(records[i]!.event_id)) results[i] = { status: 201, record: records[i]! };
        pending = pending.filter((i) => left.has(records[i]!.event_id));
        if (retried) for (const i of pending) mayBeStored.add(i);
      } catch (error) {
        const fault = writeFault(error);
        for (const i of pending) results[i] = { ...fault, outcomeUnknown: fault.outcomeUnknown || mayBeStored.has(i) };
        return;
      }
      if (pending.length === 0) return;
      const delay = backoffMs(retry);
      if (performance.now() + delay > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const error = new UnprocessedItemsError(pending.length);
    for (const i of pending) results[i] = { status: 503, error, outcomeUnknown: mayBeStored.has(i) };
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

/**
 * What a keyed record meets when its id is already stored: the same request (200 duplicate, the
 * stored record) or a different one under the same key (422). One home for direct and queued mode.
 */
export function repeatOutcome(existing: EventRecord, record: EventRecord): WriteOutcome {
  if (existing.request_sha256 === record.request_sha256) return { status: 200, record: existing, duplicate: true };
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
