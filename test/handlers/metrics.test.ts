/**
 * Business metrics in CloudWatch embedded metric format: the lines handlers/lib/ops/metrics.ts writes,
 * and the counts the ingest handler reports for single events and batches (against dynalite).
 */
import { expect } from "chai";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import {
  countRejection,
  INGEST_METRICS,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  newIngestTally,
  writeIngestMetrics,
} from "../../handlers/lib/ops/metrics";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { httpEvent, postEvent, TIME_EPOCH } from "../support/events";
import { closedEndpoint } from "../support/faults";
import { captureLogs } from "../support/logs";

const NOW = TIME_EPOCH + 500;

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [member: string]: unknown;
}

/** The EMF documents among captured lines, checked against the specification as they are read. */
function emfLines(raw: readonly string[]): EmfLine[] {
  const lines = raw.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => "_aws" in line) as EmfLine[];
  for (const line of lines) {
    expect(line._aws.Timestamp).to.be.a("number");
    for (const directive of line._aws.CloudWatchMetrics) {
      expect(directive.Namespace).to.equal(METRICS_NAMESPACE);
      // Every dimension and every metric a directive names is a root member of the document.
      for (const name of directive.Dimensions.flat()) expect(line[name], name).to.be.a("string");
      for (const metric of directive.Metrics) {
        expect(metric.Unit).to.equal("Count");
        expect(line[metric.Name], metric.Name).to.be.a("number");
      }
    }
  }
  return lines;
}

/** The counts of a request's lines: totals per FunctionName, rejected per Reason. */
function counts(lines: EmfLine[]) {
  const [totals, ...byReason] = lines;
  return {
    accepted: totals![INGEST_METRICS.accepted] as number,
    duplicates: totals![INGEST_METRICS.duplicates] as number,
    rejected: totals![INGEST_METRICS.rejected] as number,
    reasons: Object.fromEntries(byReason.map((l) => [l[METRIC_DIMENSIONS.reason], l[INGEST_METRICS.rejected]])),
  };
}

describe("business metrics (embedded metric format)", () => {
  describe("writeIngestMetrics", () => {
    it("writes one JSON object per line: totals by FunctionName, then rejections by FunctionName and Reason", () => {
      const logs = captureLogs();
      try {
        const tally = newIngestTally();
        tally.accepted = 2;
        tally.duplicates = 1;
        countRejection(tally, "validation_failed");
        countRejection(tally, "validation_failed");
        countRejection(tally, "payload_too_large");
        writeIngestMetrics(tally, { nowMs: NOW, functionName: "event-ingestion-dev-ingest" });
      } finally {
        logs.restore();
      }

      expect(logs.raw).to.have.length(3);
      for (const raw of logs.raw) expect(raw).not.to.include("\n");
      const [totals, validation, tooLarge] = emfLines(logs.raw);
      expect(totals).to.deep.equal({
        timestamp: totals!.timestamp,
        level: "INFO",
        message: "metrics",
        _aws: {
          Timestamp: NOW,
          CloudWatchMetrics: [
            {
              Namespace: "EventIngestion",
              Dimensions: [["FunctionName"]],
              Metrics: [
                { Name: "EventsAccepted", Unit: "Count" },
                { Name: "EventsDuplicate", Unit: "Count" },
                { Name: "EventsRejected", Unit: "Count" },
              ],
            },
          ],
        },
        FunctionName: "event-ingestion-dev-ingest",
        EventsAccepted: 2,
        EventsDuplicate: 1,
        EventsRejected: 3,
      });
      expect(validation!._aws.CloudWatchMetrics).to.deep.equal([
        { Namespace: "EventIngestion", Dimensions: [["FunctionName", "Reason"]], Metrics: [{ Name: "EventsRejected", Unit: "Count" }] },
      ]);
      expect(validation).to.include({ FunctionName: "event-ingestion-dev-ingest", Reason: "validation_failed", EventsRejected: 2 });
      expect(tooLarge).to.include({ Reason: "payload_too_large", EventsRejected: 1 });
    });

    it("names the function Lambda runs, or local", () => {
      const logs = captureLogs();
      const previous = process.env.AWS_LAMBDA_FUNCTION_NAME;
      try {
        process.env.AWS_LAMBDA_FUNCTION_NAME = "event-ingestion-prod-ingest";
        writeIngestMetrics(newIngestTally(), { nowMs: NOW });
        delete process.env.AWS_LAMBDA_FUNCTION_NAME;
        writeIngestMetrics(newIngestTally(), { nowMs: NOW });
      } finally {
        if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
        else process.env.AWS_LAMBDA_FUNCTION_NAME = previous;
        logs.restore();
      }
      expect(emfLines(logs.raw).map((l) => l.FunctionName)).to.deep.equal(["event-ingestion-prod-ingest", "local"]);
    });
  });

  describe("the ingest handler", () => {
    const suite = useDynalite();

    async function ingest() {
      const table = await suite.freshTable(EVENTS_TABLE, "metrics");
      return createIngestHandler({
        repository: new EventRepository(suite.dynamo.doc, table),
        config: { eventsTable: table, statusIndexShards: 8, maxEventBytes: 65_536 },
        now: () => NOW,
      });
    }
    const requestLines = () => emfLines(suite.logs.raw);
    const batch = (events: unknown[]) => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });

    it("POST /events: one accepted, then the same Idempotency-Key a duplicate", async () => {
      const handler = await ingest();
      const event = { event_type: "order.created", payload: { n: 1 } };
      expect((await handler(postEvent(event, { headers: { "idempotency-key": "k-1" } }))).statusCode).to.equal(201);
      const first = counts(requestLines());
      suite.logs.raw.length = 0;
      expect((await handler(postEvent(event, { headers: { "idempotency-key": "k-1" } }))).statusCode).to.equal(200);
      expect(first).to.deep.equal({ accepted: 1, duplicates: 0, rejected: 0, reasons: {} });
      expect(counts(requestLines())).to.deep.equal({ accepted: 0, duplicates: 1, rejected: 0, reasons: {} });
      expect(requestLines()[0]!._aws.Timestamp).to.equal(NOW);
    });

    it("POST /events: a rejection counts under the problem code the client sees", async () => {
      const handler = await ingest();
      await handler(postEvent({ event_type: "order.created" }));
      await handler(postEvent("{not json"));
      await handler(postEvent({ event_type: "t", payload: {} }, { headers: { "content-type": "text/plain" } }));
      const reasons = requestLines()
        .filter((l) => l[METRIC_DIMENSIONS.reason] !== undefined)
        .map((l) => [l.Reason, l.EventsRejected]);
      expect(reasons).to.deep.equal([
        ["validation_failed", 1],
        ["invalid_json", 1],
        ["unsupported_media_type", 1],
      ]);
    });

    it("POST /events: storage down counts as storage_unavailable (and the client still gets its 503)", async () => {
      const doc = createDocumentClient({ endpoint: await closedEndpoint(), region: "eu-north-1", credentials: TEST_CREDENTIALS });
      const handler = createIngestHandler({
        repository: new EventRepository(doc, "events"),
        config: { eventsTable: "events", statusIndexShards: 8, maxEventBytes: 65_536 },
        now: () => NOW,
      });
      try {
        expect((await handler(postEvent({ event_type: "t", payload: {} }))).statusCode).to.equal(503);
      } finally {
        doc.destroy();
      }
      expect(counts(requestLines())).to.deep.equal({ accepted: 0, duplicates: 0, rejected: 1, reasons: { storage_unavailable: 1 } });
    });

    it("POST /events/batch: each item counted, rejections by reason", async () => {
      const handler = await ingest();
      const response = await handler(
        batch([
          { event_type: "a", payload: {}, idempotency_key: "same" },
          { event_type: "b", payload: {} },
          { event_type: "a", payload: {}, idempotency_key: "same" },
          { event_type: "c" },
          { payload: {} },
        ]),
      );
      expect(response.statusCode, response.body).to.equal(207);
      // The two items with one idempotency key store one event: the other is its duplicate.
      expect(counts(requestLines())).to.deep.equal({ accepted: 2, duplicates: 1, rejected: 2, reasons: { validation_failed: 2 } });
    });

    it("POST /events/batch refused as a whole counts once, under its reason", async () => {
      const handler = await ingest();
      expect((await handler(httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events: "nope" }) }))).statusCode).to.equal(400);
      expect(counts(requestLines())).to.deep.equal({ accepted: 0, duplicates: 0, rejected: 1, reasons: { invalid_batch: 1 } });
    });
  });
});
