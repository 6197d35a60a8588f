/**
 * Property-based fuzzing with fast-check: generated request bodies (valid events, events with one
 * defect, transport defects, arbitrary JSON, text and bytes, batches) go through the ingest handler
 * into dynalite, 50 at a time. For every one: no 5xx; a 4xx is the problem+json the contract names,
 * and writes nothing; a 2xx reads back through GET /events/{id} deep-equal to what was sent,
 * numbers digit for digit. No unhandled rejection, one log line per request.
 *
 * FUZZ_RUNS sets how many bodies (10,000 in `npm test`; `npm run soak` raises it), FUZZ_SEED
 * replays a failing run (fast-check prints the seed and the shrunk counterexample).
 */
import { expect } from "chai";
import fc from "fast-check";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import type { Response } from "../../handlers/lib/http/http";
import { JsonInputError, readJson } from "../../handlers/lib/primitives/json";
import { setLogSink } from "../../handlers/lib/ops/log";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { startDynalite, type TestDynamo } from "../support/dynalite";
import { encodeBody, ingestSampleArb, jsonNoiseArb, transportHeaders, type ExpectedEvent, type IngestSample } from "../support/eventArbitraries";
import { DEFAULT_CALLER, httpEvent } from "../support/events";
import { normalizeJson, parseExactJson } from "../support/exactJson";

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Bodies sent concurrently, as one fast-check run. */
const CONCURRENCY = 50;
const TABLE = "fuzz-events";
const SHARDS = 8;

interface Problem {
  type: string;
  status: number;
  code: string;
  request_id: string;
  errors?: { pointer?: string; code?: string }[];
}

interface BatchResponse {
  results: { index: number; status: number; event_id?: string; error?: { code: string } }[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

describe("property-based fuzzing of POST /events and POST /events/batch (fast-check, handlers against dynalite)", function () {
  this.timeout(120_000 + RUNS * 20);
  let dynamo: TestDynamo;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  let logLines = 0;
  let restoreSink: (() => void) | undefined;

  before(async () => {
    dynamo = await startDynalite();
    await dynamo.createTable(EVENTS_TABLE, TABLE);
    process.on("unhandledRejection", onUnhandled);
    // The handlers also write metric lines (EMF); the contract is one "request" line per request.
    const previous = setLogSink((line) => {
      if ((JSON.parse(line) as { message?: string }).message === "request") logLines++;
    });
    restoreSink = () => void setLogSink(previous);
  });
  after(async () => {
    restoreSink?.();
    process.off("unhandledRejection", onUnhandled);
    await dynamo?.close();
  });

  it(`answers ${RUNS.toLocaleString("en")} generated bodies with no 5xx: the contract's 4xx (writing nothing) or a stored event that reads back exactly as sent`, async () => {
    const ingest = createIngestHandler({
      repository: new EventRepository(dynamo.doc, TABLE),
      config: { eventsTable: TABLE, statusIndexShards: SHARDS, maxEventBytes: 65_536 },
    });
    const read = createReadHandler({ doc: dynamo.doc, eventsTable: TABLE, statusIndexShards: SHARDS });
    const created = new Set<string>();
    const labels = new Map<string, number>();
    let bodies = 0;
    let requests = 0;
    let keySequence = 0;

    async function send(sample: IngestSample, keys: (placeholder: string) => string) {
      const { body, isBase64Encoded } = encodeBody(sample, keys);
      const headers: Record<string, string | undefined> = { "content-type": undefined };
      for (const [name, value] of Object.entries({ ...sample.headers, ...transportHeaders(sample) })) headers[name] = value.replace(/@@K\d+@@/g, keys);
      const event = httpEvent({ routeKey: sample.route, body, isBase64Encoded, headers });
      requests++;
      const response = await ingest(event);
      return { event, response };
    }

    /** GET /events/{id} must return the client's fields exactly as `expected`, with the server's own. */
    async function expectStored(eventId: string, expected: ExpectedEvent) {
      expect(created.has(eventId), `event_id ${eventId} handed out twice`).to.equal(false);
      created.add(eventId);
      const get = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
      get.pathParameters = { event_id: eventId };
      requests++;
      const response = await read(get);
      expect(response.statusCode, response.body).to.equal(200);
      const stored = parseExactJson(response.body!) as Record<string, unknown>;
      const clientFields = Object.fromEntries(["event_type", "payload", "metadata", "occurred_at"].filter((k) => k in stored).map((k) => [k, normalizeJson(stored[k])]));
      expect(clientFields).to.deep.equal(expected);
      expect(stored).to.include({ event_id: eventId, status: "pending" });
      expect(stored.source).to.deep.equal({ api_key_id: DEFAULT_CALLER.key_id });
      expect(stored).not.to.have.any.keys("status_shard", "request_sha256");
    }

    /** What a body the generator knows nothing about says, when the handler stored it. */
    function expectedFromText(sample: IngestSample): ExpectedEvent {
      const text = sample.bytes ? utf8.decode(sample.bytes) : sample.text;
      const document = parseExactJson(text) as Record<string, unknown>;
      return Object.fromEntries(["event_type", "payload", "metadata", "occurred_at"].filter((k) => k in document).map((k) => [k, normalizeJson(document[k])])) as unknown as ExpectedEvent;
    }

    function expectProblemShape(response: Response, requestId: string): Problem {
      expect(response.headers["content-type"]).to.equal("application/problem+json");
      const problem = JSON.parse(response.body!) as Problem;
      expect(problem).to.include({ status: response.statusCode, request_id: requestId });
      expect(problem.type).to.equal(`urn:event-ingestion:problem:${problem.code}`);
      return problem;
    }

    async function check(sample: IngestSample) {
      const keyMap = new Map<string, string>();
      const keys = (placeholder: string) => keyMap.get(placeholder) ?? (keyMap.set(placeholder, `fz-${++keySequence}`), keyMap.get(placeholder)!);
      const { event, response } = await send(sample, keys);
      const status = response.statusCode;
      expect(status, "a 5xx").to.be.below(500);
      const problem = status >= 400 ? expectProblemShape(response, event.requestContext.requestId) : undefined;
      const expectation = sample.expect;

      switch (expectation.kind) {
        case "stored": {
          expect(status, response.body).to.equal(201);
          const { event_id } = JSON.parse(response.body!) as { event_id: string };
          await expectStored(event_id, expectation.event);
          if (sample.repeat) {
            const { response: again } = await send(sample, keys);
            expect(again.statusCode, again.body).to.equal(200);
            expect(JSON.parse(again.body!)).to.include({ event_id, duplicate: true });
          }
          return;
        }
        case "rejected": {
          expect(status, response.body).to.equal(expectation.status);
          expect(expectation.codes).to.include(problem!.code);
          const errors = problem!.errors ?? [];
          if (expectation.pointer !== undefined) {
            const at = errors.filter((e) => e.pointer === expectation.pointer);
            expect(at, `an error at ${JSON.stringify(expectation.pointer)}`).to.have.length.greaterThan(0);
            if (expectation.fieldCode) expect(at.map((e) => e.code)).to.include(expectation.fieldCode);
          }
          if (expectation.pointerPrefix !== undefined) {
            expect(errors.some((e) => e.pointer?.startsWith(expectation.pointerPrefix!)), `an error under ${expectation.pointerPrefix}`).to.equal(true);
          }
          return;
        }
        case "any": {
          if (status === 201) await expectStored((JSON.parse(response.body!) as { event_id: string }).event_id, expectedFromText(sample));
          else expect(status).to.be.oneOf([400, 413, 415]);
          return;
        }
        case "batch-items": {
          const allStored = expectation.items.every((i) => i.status === 201);
          expect(status, response.body).to.equal(allStored ? 200 : 207);
          const { results } = JSON.parse(response.body!) as BatchResponse;
          expect(results.map((r) => r.status)).to.deep.equal(expectation.items.map((i) => i.status));
          await Promise.all(
            expectation.items.map(async (item, index) => {
              if (item.status === 201) await expectStored(results[index]!.event_id!, item.event);
              else expect(results[index]!.error!.code).to.equal("validation_failed");
            }),
          );
          return;
        }
      }
    }

    await fc.assert(
      fc.asyncProperty(fc.array(ingestSampleArb, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (samples) => {
        await Promise.all(
          samples.map(async (sample) => {
            bodies++;
            labels.set(sample.label, (labels.get(sample.label) ?? 0) + 1);
            try {
              await check(sample);
            } catch (error) {
              const shown = (sample.bytes ? `<${sample.bytes.length} bytes>` : JSON.stringify(sample.text)).slice(0, 2000);
              throw new Error(`${sample.label} (${sample.route}, ${sample.transport}, headers ${JSON.stringify(sample.headers)}):\n  body ${shown}\n  ${(error as Error).message}`);
            }
          }),
        );
      }),
      // No shrinking: a run is 50 independent bodies, and the failure names the one that failed.
      { numRuns: Math.ceil(RUNS / CONCURRENCY), endOnFailure: true, ...(SEED === undefined ? {} : { seed: SEED }) },
    );

    expect(bodies).to.be.at.least(RUNS);
    expect(unhandled, "unhandled rejections").to.deep.equal([]);
    expect(logLines, "one log line per request").to.equal(requests);
    // Rejected bodies wrote nothing: the table holds exactly the events that were answered 201.
    expect(await countItems(dynamo)).to.equal(created.size);
    // Every kind of input was exercised.
    for (const label of ["valid (text)", "defect: forbidden key", "defect: unstorable number", "arbitrary JSON", "arbitrary bytes", "batch", "invalid batch envelope"]) {
      expect(labels.get(label) ?? 0, label).to.be.greaterThan(0);
    }
  });

  it(`reads ${RUNS.toLocaleString("en")} generated texts like JSON.parse, or rejects them with a JsonInputError the contract names (never another error)`, () => {
    const STORABILITY_CODES = ["duplicate_key", "forbidden_key", "empty_key", "number_not_exact", "number_out_of_range", "nesting_too_deep", "invalid_unicode"];
    const text = fc.oneof(
      fc.json({ maxDepth: 6 }),
      fc.tuple(fc.json({ maxDepth: 3 }), fc.nat(), jsonNoiseArb(2)).map(([json, at, noise]) => json.slice(0, at % (json.length + 1)) + noise + json.slice((at % (json.length + 1)) + 1)),
      jsonNoiseArb(60),
      fc.string({ unit: "binary", maxLength: 60 }),
    );
    fc.assert(
      fc.property(text, (input) => {
        let reference: unknown;
        let referenceFailed = false;
        try {
          reference = parseExactJson(input);
        } catch {
          referenceFailed = true;
        }
        let value: unknown;
        try {
          value = readJson(input, { maxDepth: 33 });
        } catch (error) {
          expect(error).to.be.instanceOf(JsonInputError);
          const code = (error as JsonInputError).code;
          if (!referenceFailed) expect(STORABILITY_CODES, `valid JSON rejected as ${code}: ${(error as Error).message}`).to.include(code);
          return;
        }
        expect(referenceFailed, "the reader accepted text that is not JSON").to.equal(false);
        expect(normalizeJson(value)).to.deep.equal(normalizeJson(reference));
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
});

async function countItems(dynamo: TestDynamo): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.doc.send(new ScanCommand({ TableName: TABLE, Select: "COUNT", ConsistentRead: true, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}
