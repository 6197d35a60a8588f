/**
 * The write step of POST /events and /events/batch in queued mode: instead of the conditional put,
 * each record the event writer prepared goes to the ingest queue, and the answer is 202 once SQS
 * holds it durably. The processor later stores it with the same conditional put (processQueue.ts).
 *
 * Idempotency (docs/adr/0016): a record with an Idempotency-Key is looked up first (one GetItem,
 * only when a key is sent). Already stored with the same request: 200 duplicate, as in direct mode,
 * nothing queued. Stored with another request: 422, as in direct mode. Not stored yet, or storage
 * unreachable: queued, and the processor settles it (a repeat collapses into one item; a reused key
 * keeps the first event and sends the other to the dead-letter queue).
 *
 * A record whose message would pass SQS's 1 MiB even compressed (version 2) is claim-checked here,
 * as the SQS extended client does (ADR 0043): its payload object is written to the bucket first,
 * by the repository's own writer (the key and bytes a direct write would use), and the message
 * names it (version 3). A fault writing the object is a 503 and nothing is sent; an object whose
 * message was then never sent is named by no item and expires under `events/` with the lifecycle.
 */
import type { EventRecord } from "../events/record";
import type { EventRepository } from "../store/store";
import type { ProblemInit } from "../http/http";
import { repeatOutcome, writeFault, type WriteFault, type WriteOutcome } from "../store/eventWriter";
import { QueueSendError } from "../primitives/faults";
import { encodeQueueMessage, QUEUE_MESSAGE_MAX_BYTES } from "./queueMessage";
import type { QueueSender } from "./queueSender";

/** Queued: SQS holds the record; GET /events/{id} answers 404 until the processor stored it. */
export type QueuedOutcome = { status: 202; record: EventRecord; queued: true } | { status: 413; problem: ProblemInit };

export interface QueuedWriterDependencies {
  repository: EventRepository;
  sender: QueueSender;
  /** Called when the idempotency lookup failed and the processor will settle the key instead. */
  onLookupFault?: (error: unknown) => void;
}

export interface QueuedWriter {
  /** Throws a QueueSendError when SQS did not take the message. */
  writeOne(record: EventRecord): Promise<WriteOutcome | QueuedOutcome>;
  /** One outcome or fault per record, in order; never throws a queue fault. */
  writeMany(records: readonly EventRecord[]): Promise<(WriteOutcome | QueuedOutcome | WriteFault)[]>;
}

export function createQueuedWriter(deps: QueuedWriterDependencies): QueuedWriter {
  /** 200 or 422 when the key's event is already stored; undefined when the queue must take it. */
  async function settledByTable(record: EventRecord): Promise<WriteOutcome | undefined> {
    if (record.idempotency_key === undefined) return undefined;
    let existing: EventRecord | undefined;
    try {
      existing = await deps.repository.find(record.event_id);
    } catch (error) {
      // Storage trouble must not reach clients in queued mode: the processor settles the key.
      deps.onLookupFault?.(error);
      return undefined;
    }
    if (existing === undefined) return undefined;
    return repeatOutcome(existing, record);
  }

  async function writeOne(record: EventRecord): Promise<WriteOutcome | QueuedOutcome> {
    let body = encodeQueueMessage(record);
    const bytes = Buffer.byteLength(body, "utf8");
    const tooLarge = bytes > QUEUE_MESSAGE_MAX_BYTES;
    if (tooLarge && !deps.repository.claimCheck) {
      return {
        status: 413,
        problem: { status: 413, code: "item_too_large", title: "Event too large to queue", detail: `the queued event would be ${bytes} bytes; SQS's limit is ${QUEUE_MESSAGE_MAX_BYTES}` },
      };
    }
    const settled = await settledByTable(record);
    if (settled) return settled;
    // Object first, then the message that names it: no message ever names an object not written.
    if (tooLarge) body = encodeQueueMessage(record, await deps.repository.writePayloadObject(record));
    await deps.sender.send(body);
    return { status: 202, record, queued: true };
  }

  async function writeMany(records: readonly EventRecord[]): Promise<(WriteOutcome | QueuedOutcome | WriteFault)[]> {
    return Promise.all(
      records.map((record) =>
        writeOne(record).catch((error: unknown): WriteFault => {
          if (error instanceof QueueSendError) return { status: 503, error, outcomeUnknown: error.mayHaveBeenQueued };
          // A payload object S3 did not take (PayloadObjectWriteError): 503, nothing was sent.
          return writeFault(error);
        }),
      ),
    );
  }

  return { writeOne, writeMany };
}
