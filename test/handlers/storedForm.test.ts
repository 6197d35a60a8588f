/**
 * The stored form of an event (ADR 0035) against dynalite: payloads from 1 KB on are stored
 * brotli-compressed, the status index holds no encoded payload, and every read (GET, GET /events,
 * GET /inbox) returns the payload exactly as sent, numbers included; items written in the format
 * of before (payload as a map) stay readable; an ack does not rewrite a large payload.
 */
import { expect } from "chai";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { dynamoItemSize } from "../../handlers/lib/events/record";
import { newEventId } from "../../handlers/lib/primitives/ids";
import { NumberValue } from "../../handlers/lib/primitives/json";
import { EVENTS_TABLE, STATUS_INDEX } from "../../handlers/lib/primitives/tables";
import { EventLister } from "../../handlers/lib/store/listing";
import { EventRepository } from "../../handlers/lib/store/store";
import { useDynalite } from "../support/dynalite";
import { httpEvent, postEvent, TIME_EPOCH } from "../support/events";
import { githubStylePayload, pullRequestOpened } from "../../cost/githubPayloads";
import { jsonBody } from "../support/http";

const SHARDS = 4;

describe("the stored form of events (ADR 0035, handlers against dynalite)", () => {
  const suite = useDynalite();

  async function api() {
    const table = await suite.freshTable(EVENTS_TABLE, "stored");
    let clock = TIME_EPOCH;
    const now = () => ++clock;
    const config = { eventsTable: table, statusIndexShards: SHARDS, maxEventBytes: 2 * 1024 * 1024 };
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config, now });
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS });
    const ack = createAckHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS, now });
    /** POST /events with the payload's JSON text spliced in verbatim. */
    const post = async (payloadText: string, eventType = "github.pull_request") => {
      const response = await ingest(postEvent(`{"event_type":${JSON.stringify(eventType)},"payload":${payloadText}}`));
      expect(response.statusCode, response.body).to.equal(201);
      return jsonBody<{ event_id: string }>(response).event_id;
    };
    const get = (routeKey: string, query: Record<string, string> = {}, pathParameters?: Record<string, string>) => {
      const event = httpEvent({ routeKey, headers: { "content-type": undefined } });
      event.queryStringParameters = query;
      if (pathParameters) event.pathParameters = pathParameters;
      return read(event);
    };
    const getEvent = (id: string) => get("GET /events/{event_id}", {}, { event_id: id });
    const ackEvent = (id: string) => {
      const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
      event.pathParameters = { event_id: id };
      return ack(event);
    };
    const item = async (id: string) => (await suite.dynamo.scanAll(table)).find((i) => i.event_id === id)!;
    const indexItems = async (status: string) => {
      const all: Record<string, unknown>[] = [];
      for (let n = 0; n < SHARDS; n++) {
        const { Items } = await suite.dynamo.doc.send(
          new QueryCommand({ TableName: table, IndexName: STATUS_INDEX.name, KeyConditionExpression: "status_shard = :s", ExpressionAttributeValues: { ":s": `${status}#${n}` } }),
        );
        all.push(...(Items ?? []));
      }
      return all;
    };
    return { table, post, get, getEvent, ackEvent, item, indexItems };
  }

  /** The payload member of a response body, exactly as written: the bytes between `"payload":` and the next top-level member. */
  const containsPayload = (body: string | undefined, payloadText: string) => body !== undefined && (body.includes(`"payload":${payloadText},`) || body.includes(`"payload":${payloadText}}`));

  it("stores a 21 KB pull_request.opened compressed (format 2, under 4 KB) and returns it byte for byte from GET, GET /events and GET /inbox", async () => {
    const a = await api();
    const text = pullRequestOpened();
    const id = await a.post(text);
    const stored = await a.item(id);
    expect(stored).to.include({ storage_format: 2, payload_bytes: Buffer.byteLength(text) });
    expect(stored).not.to.have.property("payload");
    expect(dynamoItemSize(stored)).to.be.below(4 * 1024);

    for (const response of [await a.getEvent(id), await a.get("GET /events"), await a.get("GET /inbox")]) {
      expect(response.statusCode).to.equal(200);
      expect(containsPayload(response.body, text), "payload returned exactly as sent").to.equal(true);
      for (const internal of ["storage_format", "payload_br", "payload_bytes", "payload_object"]) expect(response.body).not.to.include(`"${internal}"`);
    }
  });

  it("keeps every digit of numbers a double would round inside a compressed payload", async () => {
    const a = await api();
    const text = `{"total":12345678901234567890.123456789,"tiny":1e-120,"items":[${Array.from({ length: 200 }, (_, i) => `{"n":${i},"id":9007199254740993${i}}`).join(",")}]}`;
    const id = await a.post(text);
    expect(await a.item(id)).to.include({ storage_format: 2 });
    const response = await a.getEvent(id);
    expect(containsPayload(response.body, text)).to.equal(true);
  });

  it("stores a 300-byte payload as today (a map, format 1, one write unit) and lists it straight from the index", async () => {
    const a = await api();
    const text = githubStylePayload(300);
    const id = await a.post(text, "github.ping");
    const stored = await a.item(id);
    expect(stored).not.to.have.property("storage_format");
    expect(stored.payload).to.be.an("object");
    expect(dynamoItemSize(stored)).to.be.below(1024);
    const [indexed] = await a.indexItems("pending");
    expect(indexed!.payload).to.deep.equal(stored.payload);
    expect(containsPayload((await a.get("GET /inbox")).body, text)).to.equal(true);
  });

  it("keeps the encoded payload and what readers never see out of the status index", async () => {
    const a = await api();
    const id = await a.post(pullRequestOpened());
    const [indexed] = await a.indexItems("pending");
    expect(indexed!.event_id).to.equal(id);
    expect(indexed).to.include({ storage_format: 2, event_type: "github.pull_request", status: "pending" });
    for (const absent of ["payload_br", "payload_object", "payload", "idempotency_key", "request_sha256"]) expect(indexed).not.to.have.property(absent);
    expect(dynamoItemSize(indexed!)).to.be.below(1024);
  });

  it("acks a compressed event without rewriting its payload: the item stays small, reads still return it exactly", async () => {
    const a = await api();
    const text = githubStylePayload(390 * 1024);
    const id = await a.post(text);
    const before = dynamoItemSize(await a.item(id));
    expect(before).to.be.below(100 * 1024);
    expect((await a.ackEvent(id)).statusCode).to.equal(200);
    const after = await a.item(id);
    expect(after).to.include({ status: "delivered", storage_format: 2 });
    expect(dynamoItemSize(after)).to.be.below(before + 100);
    expect(containsPayload((await a.getEvent(id)).body, text)).to.equal(true);
    const listed = await a.get("GET /events", { status: "delivered" });
    expect(containsPayload(listed.body, text)).to.equal(true);
  });

  it("reads items written in the format of before (payload as a map, no storage_format) through GET, GET /events and GET /inbox", async () => {
    const a = await api();
    const old = {
      event_id: newEventId(Date.UTC(2025, 11, 31)),
      event_type: "legacy.order",
      payload: { order: 7, total: new NumberValue("12345678901234567890.5"), lines: [{ sku: "a", qty: 2 }] },
      created_at: "2025-12-31T23:59:59.000Z",
      received_at: "2025-12-31T23:59:59.000Z",
      request_id: "req-old",
      source: { api_key_id: "0123456789abcdef" },
      status: "pending",
      delivery_attempts: 0,
      delivered_at: null,
      schema_version: 1,
      status_shard: "pending#1",
    };
    await suite.dynamo.doc.send(new PutCommand({ TableName: a.table, Item: old }));
    const expected = '{"order":7,"total":12345678901234567890.5,"lines":[{"sku":"a","qty":2}]}';
    const single = await a.getEvent(old.event_id);
    expect(single.statusCode).to.equal(200);
    expect(containsPayload(single.body, expected), single.body).to.equal(true);
    expect(containsPayload((await a.get("GET /events")).body, expected)).to.equal(true);
    expect(containsPayload((await a.get("GET /inbox")).body, expected)).to.equal(true);
  });

  it("lists a mix of small, compressed and old-format events in created_at order with one BatchGetItem for the compressed ones", async () => {
    const a = await api();
    const small = await a.post('{"n":1}', "mix");
    const large = await a.post(pullRequestOpened(), "mix");
    const small2 = await a.post('{"n":2}', "mix");
    const page = jsonBody<{ items: { event_id: string; payload: Record<string, unknown> }[] }>(await a.get("GET /inbox"));
    expect(page.items.map((i) => i.event_id)).to.deep.equal([small, large, small2]);
    expect(page.items[1]!.payload).to.have.property("pull_request");
  });

  it("ends a page before its payloads pass the page's byte budget (4 MiB in the API), with a cursor that resumes where it stopped", async () => {
    const a = await api();
    const text = githubStylePayload(24 * 1024);
    const ids = [await a.post(text), await a.post(text), await a.post(text), await a.post('{"last":true}')];
    // The budget scaled down 100×: two 24 KB payloads fit in 50 KB, a third does not.
    const lister = new EventLister(suite.dynamo.doc, a.table, SHARDS, { maxQueries: 32, maxReadUnits: 64, maxPageBytes: 50 * 1024 });
    const first = await lister.list({ statuses: ["pending"], order: "oldest", limit: 10 });
    expect(first.items.map((i) => i.event_id)).to.deep.equal(ids.slice(0, 2));
    expect(first.budgetReached).to.equal(true);
    const second = await lister.list({ statuses: ["pending"], order: "oldest", limit: 10, cursor: first.nextCursor! });
    expect(second.items.map((i) => i.event_id)).to.deep.equal(ids.slice(2, 4));
    expect(second.items[0]!.payload).to.have.property("pull_request");
  });
});
