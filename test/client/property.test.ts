/**
 * A property of the client, over random sequences of sends, flushes and faults (fast-check)
 * against the in-test fake server: after close(), every valid event is stored exactly once, under
 * the key its outcome names, and its outcome says so; every invalid event is rejected and stored
 * nowhere. Faults include connections reset before and after the server stored a batch, answers
 * slower than the client's timeout, whole-request 5xx/429/408 and per-item 503s.
 */
import { expect } from "chai";
import fc from "fast-check";
import { EventClient, isAccepted, type SendOutcome } from "../../client/src/index";
import { startFakeIngestServer, type FakeFault, type FakeIngestServer } from "../support/fakeIngestServer";

type Command = { kind: "send"; valid: boolean; padding: number } | { kind: "flush" } | { kind: "fault"; fault: FakeFault };

const FAULTS: FakeFault[] = ["drop-before", "drop-after", "slow", "503", "429", "500", "408", "item-503"];

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("send" as const), valid: fc.integer({ min: 0, max: 9 }).map((n) => n > 1), padding: fc.nat({ max: 3000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("fault" as const), fault: fc.constantFrom(...FAULTS) }) },
);

describe("EventClient property: sends, flushes and faults", function () {
  this.timeout(120_000);
  let server: FakeIngestServer;
  before(async () => {
    server = await startFakeIngestServer({ slowMs: 120 });
  });
  after(() => server.close());

  it("never loses an accepted event and never stores one twice", async () => {
    // A run's slow request may still store after the run ended; each run's events name their run.
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }), async (commands, maxBatchSize, concurrency) => {
        server.reset();
        run++;
        const client = new EventClient({
          url: server.url,
          apiKey: server.apiKey,
          maxBatchSize,
          maxConcurrentRequests: concurrency,
          flushIntervalMs: 2,
          timeoutMs: 60,
          retryBaseDelayMs: 1,
          retryMaxDelayMs: 4,
          maxRetries: 200,
          gzipMinBytes: 2048,
        });
        const sent: { id: number; valid: boolean; outcome: Promise<SendOutcome> }[] = [];
        for (const [id, c] of commands.entries()) {
          if (c.kind === "send") sent.push({ id, valid: c.valid, outcome: client.send(c.valid ? "prop.event" : "bad type!", { run, id, pad: "x".repeat(c.padding) }) });
          else if (c.kind === "flush") await client.flush();
          else server.faults.push(c.fault);
        }
        await client.close();

        for (const s of sent) {
          const outcome = await s.outcome;
          const storedUnder = [...server.stored.entries()].filter(([, e]) => {
            const payload = e.item.payload as { run: number; id: number };
            return payload.run === run && payload.id === s.id;
          });
          if (s.valid) {
            expect(isAccepted(outcome), JSON.stringify(outcome)).to.equal(true);
            expect(storedUnder.map(([key]) => key), `event ${s.id}`).to.deep.equal([outcome.idempotencyKey]);
            expect((outcome as { eventId: string }).eventId).to.equal(storedUnder[0]![1].eventId);
          } else {
            expect(outcome.status).to.equal("rejected");
            expect(storedUnder).to.deep.equal([]);
          }
        }
        // Every request carried only keys the client made at enqueue, each for one event.
        const keyOf = new Map<string, number>();
        for (const s of sent) keyOf.set((await s.outcome).idempotencyKey, s.id);
        for (const request of server.requests) for (const key of request.keys) expect(keyOf.has(key), key).to.equal(true);
      }),
      { numRuns: 40 },
    );
  });
});
