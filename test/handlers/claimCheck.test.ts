/**
 * The claim check (ADR 0035) with the real S3 client against the local S3 endpoint and the
 * handlers against dynalite: an event too large for an item even compressed is accepted through
 * POST /events and the webhook route, its payload written to S3 before the item that names it, and
 * read back byte for byte by GET, GET /events and GET /inbox. A fault writing the object stores
 * nothing; a fault writing the item leaves only an object under events/, where the lifecycle rule
 * expires it; a lost race for an id removes the loser's object and never touches the winner's.
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { S3Client } from "@aws-sdk/client-s3";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { dynamoItemSize } from "../../handlers/lib/events/record";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { S3PayloadObjects, type PayloadObjects } from "../../handlers/lib/store/payloadObjects";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { createS3Endpoint } from "../../local/s3";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { httpEvent, postEvent } from "../support/events";
import { closedEndpoint, throttlingRequestHandler } from "../support/faults";
import { githubStylePayload } from "../../cost/githubPayloads";
import { jsonBody } from "../support/http";
import { tempDir } from "../support/tempDirs";
import { webhookEvent, webhookFixture } from "../support/webhookHandler";
import { signDelivery } from "../support/webhookSenders";
import * as fs from "node:fs";
import * as path from "node:path";

const SHARDS = 4;
const BUCKET = "payloads";
const FIVE_MB = 5 * 1024 * 1024;

describe("the claim check: payloads too large for an item go to S3 (ADR 0035)", function () {
  this.timeout(60_000);
  const suite = useDynalite();
  let server: Server;
  let s3: S3Client;
  let s3Dir: string;
  const clientConfig = (endpoint: string) => ({ endpoint, region: "local", forcePathStyle: true, maxAttempts: 1, credentials: TEST_CREDENTIALS });

  before(async () => {
    s3Dir = tempDir("claim-check-s3");
    server = createS3Endpoint({ dir: s3Dir, buckets: [BUCKET] });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    s3 = new S3Client(clientConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
  after(async () => {
    s3.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const objects = () => new S3PayloadObjects(s3, BUCKET);
  /** The keys the local S3 holds (it answers no ListObjects: read its metadata files). */
  const objectKeys = async () =>
    fs
      .readdirSync(path.join(s3Dir, BUCKET))
      .filter((f) => f.endsWith(".meta"))
      .map((f) => (JSON.parse(fs.readFileSync(path.join(s3Dir, BUCKET, f), "utf8")) as { key: string }).key);

  async function api(payloadObjects: PayloadObjects = objects(), doc = suite.dynamo.doc) {
    const table = await suite.freshTable(EVENTS_TABLE, "claim");
    const config = { eventsTable: table, statusIndexShards: SHARDS, maxEventBytes: 6 * 1024 * 1024 };
    const ingest = createIngestHandler({ repository: new EventRepository(doc, table, payloadObjects), config });
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: SHARDS, payloadObjects: objects() });
    const get = (routeKey: string, pathParameters?: Record<string, string>) => {
      const event = httpEvent({ routeKey, headers: { "content-type": undefined } });
      if (pathParameters) event.pathParameters = pathParameters;
      return read(event);
    };
    const items = () => suite.dynamo.scanAll(table);
    return { table, ingest, get, items };
  }
  const containsPayload = (body: string | undefined, text: string) => body !== undefined && (body.includes(`"payload":${text},`) || body.includes(`"payload":${text}}`));

  it("accepts a 5 MB GitHub-style event through POST /events, stores its payload once in S3 and returns it byte for byte from GET, GET /events and GET /inbox", async () => {
    const a = await api();
    const text = githubStylePayload(FIVE_MB);
    const response = await a.ingest(postEvent(`{"event_type":"github.push","payload":${text}}`));
    expect(response.statusCode, response.body).to.equal(201);
    const id = jsonBody<{ event_id: string }>(response).event_id;
    const [item] = await a.items();
    expect(item).to.include({ storage_format: 2, payload_bytes: FIVE_MB });
    expect(item!.payload_object).to.match(new RegExp(`^events/${id}/[0-9a-f]{32}\\.json\\.br$`));
    expect(item).not.to.have.property("payload_br");
    expect(dynamoItemSize(item!)).to.be.below(1024);
    expect(await objectKeys()).to.include(item!.payload_object);
    for (const read of [await a.get("GET /events/{event_id}", { event_id: id }), await a.get("GET /events"), await a.get("GET /inbox")]) {
      expect(read.statusCode).to.equal(200);
      expect(containsPayload(read.body, text), "5 MB payload returned exactly as sent").to.equal(true);
    }
  });

  it("accepts a 5 MB signed GitHub delivery through the webhook route and reads it back byte for byte", async () => {
    const fx = await webhookFixture(suite, { maxEventBytes: 6 * 1024 * 1024, payloadObjects: objects() });
    const body = githubStylePayload(FIVE_MB);
    const source = fx.sourceFor("github");
    const response = await fx.handler(webhookEvent(source, await signDelivery("github", { secret: fx.secrets[source]![0]!, body, githubEvent: "push" })));
    expect(response.statusCode, response.body).to.equal(201);
    const [item] = await fx.items();
    expect(item!.payload_object).to.be.a("string");
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: fx.table, statusIndexShards: 8, payloadObjects: objects() });
    const event = httpEvent({ routeKey: "GET /events/{event_id}", headers: { "content-type": undefined } });
    event.pathParameters = { event_id: item!.event_id as string };
    expect(containsPayload((await read(event)).body, body)).to.equal(true);
  });

  it("a fault writing the object: 503 with Retry-After, and no item names an object that is not there", async () => {
    const unreachable = new S3PayloadObjects(new S3Client(clientConfig(await closedEndpoint())), BUCKET);
    const a = await api(unreachable);
    const response = await a.ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(FIVE_MB)}}`));
    expect(response.statusCode).to.equal(503);
    expect(response.headers?.["retry-after"]).to.equal("1");
    expect(await a.items()).to.deep.equal([]);
  });

  it("a fault writing the item after its object: 503, no item, and the object left under events/, where the lifecycle rule expires it", async () => {
    const throttled = createDocumentClient({ ...clientConfig("http://127.0.0.1:9"), requestHandler: throttlingRequestHandler() });
    const a = await api(objects(), throttled);
    const before = new Set(await objectKeys());
    const response = await a.ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(FIVE_MB - 1)}}`));
    expect(response.statusCode).to.equal(503);
    expect(await a.items()).to.deep.equal([]);
    const orphans = (await objectKeys()).filter((k) => !before.has(k));
    expect(orphans).to.have.length(1);
    expect(orphans[0]).to.match(/^events\//); // the lifecycle rule's prefix (test/infra/payloadBucket.test.ts)
  });

  it("an idempotency key reused with another large body: 422, the loser's object removed, the stored event's object untouched", async () => {
    const a = await api();
    const first = githubStylePayload(FIVE_MB);
    const headers = { "idempotency-key": "push-1" };
    const stored = await a.ingest(postEvent(`{"event_type":"github.push","payload":${first}}`, { headers }));
    expect(stored.statusCode).to.equal(201);
    const id = jsonBody<{ event_id: string }>(stored).event_id;
    const keysBefore = (await objectKeys()).filter((k) => k.startsWith(`events/${id}/`));
    expect(keysBefore).to.have.length(1);

    const again = await a.ingest(postEvent(`{"event_type":"github.push","payload":${first}}`, { headers }));
    expect(again.statusCode).to.equal(200);
    const reused = await a.ingest(postEvent(`{"event_type":"github.push","payload":${githubStylePayload(FIVE_MB - 7)}}`, { headers }));
    expect(reused.statusCode).to.equal(422);
    expect((await objectKeys()).filter((k) => k.startsWith(`events/${id}/`))).to.deep.equal(keysBefore);
    expect(containsPayload((await a.get("GET /events/{event_id}", { event_id: id })).body, first)).to.equal(true);
  });

  it("keeps its objects only under the bucket directory of the local S3", () => {
    expect(fs.readdirSync(s3Dir)).to.deep.equal([BUCKET]);
    expect(fs.readdirSync(path.join(s3Dir, BUCKET)).length).to.be.greaterThan(0);
  });
});
