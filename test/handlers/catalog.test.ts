/**
 * The event catalogue at every door, against dynalite (and the local SQS for queued mode): each
 * `catalogMode` (off, warn, enforce) and `unknownEventTypes` policy (allow, warn, reject) through
 * POST /events, each batch item, queued mode before the 202 (and the processor's own re-check),
 * webhooks by their derived event_type, and the SNS pipeline's stages. Enforcement answers 400 with
 * pointers into the event and writes nothing; warn stores the event flagged, counts a metric, and
 * GET /events/{id} shows the version it was checked against.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as z from "zod/mini";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { checkCatalog, defineCatalog, defineEventType, payloadViolations } from "../../handlers/lib/events/catalog";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createReadHandler } from "../../handlers/lib/api/readEvents";
import { catalogPolicyFromEnv, eventStoreEnvironment, type CatalogPolicy } from "../../handlers/lib/ops/config";
import { createEventWriter } from "../../handlers/lib/store/eventWriter";
import { EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { acceptMessage, PipelineError, storeAccepted } from "../../handlers/lib/pipeline/pipeline";
import { createQueueProcessor } from "../../handlers/lib/queue/processQueue";
import { encodeQueueMessage } from "../../handlers/lib/queue/queueMessage";
import { QueueSender } from "../../handlers/lib/queue/queueSender";
import type { EventRecord } from "../../handlers/lib/events/record";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { sqsRecord } from "../../local/sqs/poller";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { httpEvent, postEvent } from "../support/events";
import { expectProblem, jsonBody, pointers } from "../support/http";
import { captureLogs } from "../support/logs";
import { webhookEvent, webhookFixture } from "../support/webhookHandler";
import { signDelivery } from "../support/webhookSenders";

/** A catalogue of the test's own, so these cases do not move when the example catalogue does. */
const CATALOG = defineCatalog({
  "order.created": defineEventType({
    description: "An order was placed.",
    owner: "team-test",
    version: 3,
    payload: z.object({
      order_id: z.string(),
      total: z.number(),
      lines: z.array(z.object({ sku: z.string(), qty: z.int().check(z.positive()) })),
      address: z.optional(z.object({ city: z.string() })),
    }),
    examples: [{ order_id: "o-1", total: 10, lines: [{ sku: "A", qty: 1 }] }],
  }),
  push: defineEventType({ description: "GitHub push.", owner: "team-test", version: 1, payload: z.looseObject({ ref: z.string() }), examples: [{ ref: "refs/heads/main" }] }),
  "payment.succeeded": defineEventType({
    description: "A payment.",
    owner: "team-test",
    version: 2,
    payload: z.object({ payment_id: z.string(), amount: z.int().check(z.positive()), currency: z.string() }),
    examples: [{ payment_id: "p1", amount: 100, currency: "EUR" }],
  }),
});

const VALID = { event_type: "order.created", payload: { order_id: "o-1", total: 42, lines: [{ sku: "A-1", qty: 2 }] } };
const INVALID = { event_type: "order.created", payload: { order_id: "o-1", total: "42", lines: [{ sku: "A-1", qty: 2 }] } };
const UNKNOWN = { event_type: "page.viewed", payload: { path: "/" } };
const CONFIG = { statusIndexShards: 8, maxEventBytes: 65_536 } as const;
const REGION = "eu-north-1";

const policy = (mode: CatalogPolicy["mode"], unknownEventTypes: CatalogPolicy["unknownEventTypes"] = "allow"): CatalogPolicy => ({ mode, unknownEventTypes });

describe("the event catalogue at every door (handlers against dynalite)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs.restore());

  const metricLines = (name: string) => logs.withMessage("metrics").filter((l) => name in l);

  async function ingest(catalog: CatalogPolicy) {
    const table = await suite.freshTable(EVENTS_TABLE, "catalog-events");
    const handler = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config: { eventsTable: table, ...CONFIG, catalog }, catalog: CATALOG });
    const read = createReadHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: CONFIG.statusIndexShards });
    const getEvent = async (id: string) => {
      const response = await read({ ...httpEvent({ routeKey: "GET /events/{event_id}" }), rawPath: `/events/${id}`, pathParameters: { event_id: id } });
      expect(response.statusCode, response.body).to.equal(200);
      return jsonBody<Record<string, unknown>>(response);
    };
    return { handler, getEvent, items: () => suite.dynamo.scanAll(table) };
  }

  describe("POST /events", () => {
    it("off (the default): a mismatching payload is stored as today, with no catalogue attributes", async () => {
      const s = await ingest(policy("off"));
      expect((await s.handler(postEvent(INVALID))).statusCode).to.equal(201);
      const [item] = await s.items();
      expect(item).not.to.have.any.keys("catalog", "schema_violations");
      expect(item!.payload).to.deep.equal(INVALID.payload);
    });

    it("warn: stores the mismatch exactly as sent, flagged with schema_violations, counts SchemaViolations by type, and GET /events/{id} shows the version", async () => {
      const s = await ingest(policy("warn"));
      const response = await s.handler(postEvent(INVALID));
      expect(response.statusCode, response.body).to.equal(201);
      const stored = await s.getEvent(jsonBody<{ event_id: string }>(response).event_id);
      expect(stored.payload).to.deep.equal(INVALID.payload);
      expect(stored.catalog).to.deep.equal({ version: 3, valid: false });
      expect(stored.schema_violations).to.deep.equal([{ pointer: "/payload/total", code: "invalid_type", detail: "Invalid input: expected number, received string" }]);
      const [metric] = metricLines("SchemaViolations");
      expect(metric).to.include({ SchemaViolations: 1, EventType: "order.created" });
    });

    it("warn: a matching event is stored with the version it was checked against and no violations", async () => {
      const s = await ingest(policy("warn"));
      const response = await s.handler(postEvent(VALID));
      const stored = await s.getEvent(jsonBody<{ event_id: string }>(response).event_id);
      expect(stored.catalog).to.deep.equal({ version: 3, valid: true });
      expect(stored).not.to.have.property("schema_violations");
      expect(metricLines("SchemaViolations")).to.have.length(0);
    });

    it("enforce: 400 schema_violation with a pointer into the payload, and nothing written", async () => {
      const s = await ingest(policy("enforce"));
      const event = postEvent(INVALID);
      const body = expectProblem(await s.handler(event), event, 400, "schema_violation");
      expect(pointers(body)).to.deep.equal(["/payload/total"]);
      expect(await s.items()).to.have.length(0);
    });

    it("enforce: pointers reach nested objects and array elements, one per mismatch", async () => {
      const s = await ingest(policy("enforce"));
      const payload = { order_id: "o-1", total: 1, lines: [{ sku: "A", qty: 1 }, { sku: "B", qty: 0 }, { qty: 1 }], address: {} };
      const event = postEvent({ event_type: "order.created", payload });
      const body = expectProblem(await s.handler(event), event, 400, "schema_violation");
      expect(pointers(body)).to.have.members(["/payload/lines/1/qty", "/payload/lines/2/sku", "/payload/address/city"]);
      expect(await s.items()).to.have.length(0);
    });

    it("enforce: a matching event is stored with its type's version", async () => {
      const s = await ingest(policy("enforce"));
      expect((await s.handler(postEvent(VALID))).statusCode).to.equal(201);
      expect((await s.items())[0]!.catalog).to.deep.equal({ version: 3, valid: true });
    });

    it("unknownEventTypes allow: an undeclared type is stored unflagged, even under enforce", async () => {
      const s = await ingest(policy("enforce", "allow"));
      expect((await s.handler(postEvent(UNKNOWN))).statusCode).to.equal(201);
      expect((await s.items())[0]).not.to.have.any.keys("catalog", "schema_violations");
    });

    it("unknownEventTypes warn: stored with catalog.declared false and an unknown_event_type violation; counts UnknownEventTypes without the type", async () => {
      const s = await ingest(policy("off", "warn"));
      const response = await s.handler(postEvent(UNKNOWN));
      const stored = await s.getEvent(jsonBody<{ event_id: string }>(response).event_id);
      expect(stored.catalog).to.deep.equal({ declared: false });
      expect(stored.schema_violations).to.deep.equal([{ pointer: "/event_type", code: "unknown_event_type", detail: '"page.viewed" is not declared in the event catalogue' }]);
      const [metric] = metricLines("UnknownEventTypes");
      expect(metric).to.include({ UnknownEventTypes: 1 });
      expect(metric).not.to.have.property("EventType");
    });

    it("unknownEventTypes reject: 400 unknown_event_type at /event_type, nothing written; declared types still pass", async () => {
      const s = await ingest(policy("off", "reject"));
      const event = postEvent(UNKNOWN);
      const body = expectProblem(await s.handler(event), event, 400, "unknown_event_type");
      expect(pointers(body)).to.deep.equal(["/event_type"]);
      expect(await s.items()).to.have.length(0);
      expect((await s.handler(postEvent(INVALID))).statusCode, "off: declared payloads unchecked").to.equal(201);
    });

    it("warn: an event with thousands of violations is stored with the first 20 and a count, never refused for its size", async () => {
      const s = await ingest(policy("warn"));
      const lines = Array.from({ length: 3_000 }, () => ({ sku: "A", qty: 0 }));
      const response = await s.handler(postEvent({ event_type: "order.created", payload: { order_id: "o", total: 1, lines } }));
      expect(response.statusCode, response.body).to.equal(201);
      const [item] = await s.items();
      const violations = item!.schema_violations as { pointer: string; code: string; detail: string }[];
      expect(violations).to.have.length(21);
      expect(violations[20]).to.deep.equal({ pointer: "", code: "too_many_violations", detail: "2980 more violations not listed" });
    });
  });

  describe("POST /events/batch", () => {
    const batch = (events: unknown[]) => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });

    it("enforce + reject: a per-item 400 in the 207, pointing into that item; the valid item alone is stored", async () => {
      const s = await ingest(policy("enforce", "reject"));
      const invalid = { event_type: "order.created", payload: { ...VALID.payload, lines: [{ sku: "A", qty: -1 }] } };
      const response = await s.handler(batch([VALID, invalid, UNKNOWN]));
      expect(response.statusCode, response.body).to.equal(207);
      const { results } = jsonBody<{ results: { status: number; error?: { code: string; errors: { pointer: string }[] } }[] }>(response);
      expect(results.map((r) => r.status)).to.deep.equal([201, 400, 400]);
      expect(results[1]!.error!.code).to.equal("schema_violation");
      expect(results[1]!.error!.errors.map((e) => e.pointer)).to.deep.equal(["/events/1/payload/lines/0/qty"]);
      expect(results[2]!.error!.code).to.equal("unknown_event_type");
      expect(results[2]!.error!.errors.map((e) => e.pointer)).to.deep.equal(["/events/2/event_type"]);
      expect(await s.items()).to.have.length(1);
    });

    it("warn: every item stored, the mismatching one flagged", async () => {
      const s = await ingest(policy("warn", "warn"));
      const response = await s.handler(batch([VALID, INVALID, UNKNOWN]));
      expect(response.statusCode, response.body).to.equal(200);
      const items = await s.items();
      const flags = Object.fromEntries(items.map((i) => [JSON.stringify(i.payload), i.catalog]));
      expect(flags[JSON.stringify(VALID.payload)]).to.deep.equal({ version: 3, valid: true });
      expect(flags[JSON.stringify(INVALID.payload)]).to.deep.equal({ version: 3, valid: false });
      expect(flags[JSON.stringify(UNKNOWN.payload)]).to.deep.equal({ declared: false });
    });
  });

  describe("queued mode", () => {
    let sqs: LocalSqs;
    let client: SQSClient;
    let n = 0;
    before(async () => {
      sqs = await startLocalSqs({ port: 0, region: REGION });
      client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
    });
    after(async () => {
      client.destroy();
      await sqs.close();
    });

    async function queued(catalog: CatalogPolicy, processorCatalog: CatalogPolicy = catalog) {
      const table = await suite.freshTable(EVENTS_TABLE, "catalog-queued");
      const name = `catalog-${++n}`;
      sqs.store.createQueue(name, { VisibilityTimeout: 60 });
      const queueUrl = sqs.queueUrl(name);
      const repository = new EventRepository(suite.dynamo.doc, table);
      const handler = createIngestHandler({ repository, config: { eventsTable: table, ...CONFIG, catalog }, catalog: CATALOG, queue: new QueueSender(client, queueUrl) });
      const processor = createQueueProcessor({ repository, sqs: client, queueUrl, statusIndexShards: CONFIG.statusIndexShards, maxEventBytes: CONFIG.maxEventBytes, catalog: CATALOG, catalogPolicy: processorCatalog });
      const process = async () => {
        const messages = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }))).Messages ?? [];
        const response = await processor({ Records: messages.map((m) => sqsRecord(m, sqs.store.arnOf(name), REGION)) }, { functionName: "processor" } as Context);
        return { received: messages.length, failed: response.batchItemFailures.length };
      };
      return { handler, process, queueUrl, depth: () => sqs.store.counts(name), items: () => suite.dynamo.scanAll(table) };
    }

    it("enforce: refused with the same 400 before the 202, and nothing reaches the queue", async () => {
      const s = await queued(policy("enforce", "reject"));
      const event = postEvent(INVALID);
      expect(pointers(expectProblem(await s.handler(event), event, 400, "schema_violation"))).to.deep.equal(["/payload/total"]);
      const unknown = postEvent(UNKNOWN);
      expectProblem(await s.handler(unknown), unknown, 400, "unknown_event_type");
      expect(s.depth()).to.include({ visible: 0 });
    });

    it("warn: 202, and the processor stores the event flagged as the ingest function flagged it", async () => {
      const s = await queued(policy("warn"));
      expect((await s.handler(postEvent(INVALID))).statusCode).to.equal(202);
      expect(await s.process()).to.deep.equal({ received: 1, failed: 0 });
      const [item] = await s.items();
      expect(item!.catalog).to.deep.equal({ version: 3, valid: false });
      expect((item!.schema_violations as { pointer: string }[]).map((v) => v.pointer)).to.deep.equal(["/payload/total"]);
    });

    it("the processor re-checks: a message whose payload breaks the catalogue is never stored under enforce, whatever the message claims", async () => {
      const s = await queued(policy("off"), policy("enforce"));
      expect((await s.handler(postEvent(INVALID))).statusCode).to.equal(202);
      expect(await s.process()).to.deep.equal({ received: 1, failed: 1 });
      expect(await s.items()).to.have.length(0);
    });

    it("the processor's own verdict is stored, not a forged one in the message", async () => {
      const s = await queued(policy("warn"));
      const writer = createEventWriter({ repository: new EventRepository(suite.dynamo.doc, "unused"), config: CONFIG });
      const prepared = writer.prepare(INVALID as never, { origin: { api_key_id: "0123456789abcdef" }, requestId: "req-forged" });
      if (!prepared.ok) throw new Error("prepare failed");
      const forged: EventRecord = { ...prepared.record, catalog: { version: 3, valid: true } };
      await client.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: encodeQueueMessage(forged) }));
      expect(await s.process()).to.deep.equal({ received: 1, failed: 0 });
      expect((await s.items())[0]!.catalog).to.deep.equal({ version: 3, valid: false });
    });
  });

  describe("POST /webhooks/{source}, by the derived event_type", () => {
    const deliver = async (fx: Awaited<ReturnType<typeof webhookFixture>>, body: unknown, githubEvent = "push") => {
      const source = fx.sourceFor("github");
      const delivery = await signDelivery("github", { secret: fx.secrets[source]![0]!, body: JSON.stringify(body), githubEvent });
      const event = webhookEvent(source, delivery);
      return { event, response: await fx.handler(event) };
    };

    it("enforce: a push whose payload breaks the schema is 400 with a pointer into the delivered body, and nothing stored", async () => {
      const fx = await webhookFixture(suite, { catalog: CATALOG, catalogPolicy: policy("enforce") });
      const { event, response } = await deliver(fx, { ref: 7 });
      expect(pointers(expectProblem(response, event, 400, "schema_violation"))).to.deep.equal(["/ref"]);
      expect(await fx.items()).to.have.length(0);
    });

    it("warn: stored flagged; a valid push is stored with its version", async () => {
      const fx = await webhookFixture(suite, { catalog: CATALOG, catalogPolicy: policy("warn") });
      expect((await deliver(fx, { ref: 7 })).response.statusCode).to.equal(201);
      expect((await deliver(fx, { ref: "refs/heads/main" })).response.statusCode).to.equal(201);
      const stamps = (await fx.items()).map((i) => i.catalog);
      expect(stamps).to.have.deep.members([{ version: 1, valid: false }, { version: 1, valid: true }]);
    });

    it("unknownEventTypes reject: an undeclared GitHub event (issues.opened) is 400 unknown_event_type; allow stores it", async () => {
      const rejecting = await webhookFixture(suite, { catalog: CATALOG, catalogPolicy: policy("off", "reject") });
      const { event, response } = await deliver(rejecting, { action: "opened" }, "issues");
      const body = expectProblem(response, event, 400, "unknown_event_type");
      expect(body.errors![0]).not.to.have.property("pointer"); // the type was derived, not sent
      expect(await rejecting.items()).to.have.length(0);
      const allowing = await webhookFixture(suite, { catalog: CATALOG, catalogPolicy: policy("enforce", "allow") });
      expect((await deliver(allowing, { action: "opened" }, "issues")).response.statusCode).to.equal(201);
    });
  });

  describe("the SNS pipeline", () => {
    const message = (event: unknown) => ({ messageId: "sqs-1", body: JSON.stringify(event) });
    const payment = (payload: Record<string, unknown>) => ({ event_type: "payment.succeeded", payload });

    it("validation stage, enforce: EventRejected with the catalogue's code and pointer, before any stage runs", () => {
      let error: unknown;
      try {
        acceptMessage(message(payment({ payment_id: "p1", amount: -5, currency: "EUR" })), { pipeline: "payments", maxEventBytes: 4096, catalog: CATALOG, catalogPolicy: policy("enforce") });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(PipelineError);
      expect((error as Error).name).to.equal("EventRejected");
      const cause = JSON.parse((error as Error).message) as { code: string; errors: { pointer: string }[] };
      expect(cause.code).to.equal("schema_violation");
      expect(cause.errors.map((e) => e.pointer)).to.deep.equal(["/payload/amount"]);
    });

    it("validation stage, reject: an undeclared type is EventRejected; warn lets it through to the stages", () => {
      const options = (p: CatalogPolicy) => ({ pipeline: "payments", maxEventBytes: 4096, catalog: CATALOG, catalogPolicy: p });
      expect(() => acceptMessage(message(UNKNOWN), options(policy("off", "reject")))).to.throw(PipelineError, /unknown_event_type/);
      expect(acceptMessage(message(UNKNOWN), options(policy("off", "warn"))).event.event_type).to.equal("page.viewed");
    });

    it("store stage, warn: what the stages returned is checked again and stored flagged", async () => {
      const table = await suite.freshTable(EVENTS_TABLE, "catalog-pipeline");
      const writer = createEventWriter({ repository: new EventRepository(suite.dynamo.doc, table), config: { ...CONFIG, catalog: policy("warn") }, catalog: CATALOG });
      const accepted = acceptMessage(message(payment({ payment_id: "p1", amount: 100, currency: "EUR" })), { pipeline: "payments", maxEventBytes: 4096, catalog: CATALOG, catalogPolicy: policy("warn") });
      // A stage that broke the contract: amount became a string.
      await storeAccepted({ ...accepted, event: { ...accepted.event, payload: { ...accepted.event.payload, amount: "100" } } }, writer);
      const [item] = await suite.dynamo.scanAll(table);
      expect(item!.catalog).to.deep.equal({ version: 2, valid: false });
      expect((item!.schema_violations as { pointer: string }[]).map((v) => v.pointer)).to.deep.equal(["/payload/amount"]);
    });

    it("store stage, enforce: a stage's output that breaks the schema is EventRejected with the pointer", async () => {
      const writer = createEventWriter({ repository: new EventRepository(suite.dynamo.doc, "never-written"), config: { ...CONFIG, catalog: policy("enforce") }, catalog: CATALOG });
      const accepted = acceptMessage(message(payment({ payment_id: "p1", amount: 100, currency: "EUR" })), { pipeline: "payments", maxEventBytes: 4096 });
      let error: unknown;
      try {
        await storeAccepted({ ...accepted, event: { ...accepted.event, payload: { payment_id: "p1", currency: "EUR" } } }, writer);
      } catch (e) {
        error = e;
      }
      expect((error as Error).name).to.equal("EventRejected");
      expect((JSON.parse((error as Error).message) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).to.deep.equal(["/payload/amount"]);
    });
  });
});

describe("the catalogue's policy in the environment (mocks: config and env)", () => {
  it("defaults to off / allow when the variables are unset or empty, and writes no variable for them", () => {
    expect(catalogPolicyFromEnv({})).to.deep.equal({ mode: "off", unknownEventTypes: "allow" });
    expect(catalogPolicyFromEnv({ CATALOG_MODE: "", UNKNOWN_EVENT_TYPES: "" })).to.deep.equal({ mode: "off", unknownEventTypes: "allow" });
    expect(eventStoreEnvironment({ eventsTable: "t", statusIndexShards: 8, maxEventBytes: 1024 })).not.to.have.any.keys("CATALOG_MODE", "UNKNOWN_EVENT_TYPES");
  });

  it("round-trips every policy through the environment the deploy writes", () => {
    for (const mode of ["off", "warn", "enforce"] as const) {
      for (const unknownEventTypes of ["allow", "warn", "reject"] as const) {
        const env = eventStoreEnvironment({ eventsTable: "t", statusIndexShards: 8, maxEventBytes: 1024, catalog: { mode, unknownEventTypes } });
        expect(catalogPolicyFromEnv(env)).to.deep.equal({ mode, unknownEventTypes });
      }
    }
  });

  it("fails the cold start on a value it does not know, naming the variable", () => {
    expect(() => catalogPolicyFromEnv({ CATALOG_MODE: "strict" })).to.throw("environment variable CATALOG_MODE must be one of off, warn, enforce");
    expect(() => catalogPolicyFromEnv({ UNKNOWN_EVENT_TYPES: "deny" })).to.throw("UNKNOWN_EVENT_TYPES must be one of allow, warn, reject");
  });
});

describe("defineEventType", () => {
  it("builds a payload schema given as a function once, on the first event of its type, not at load", () => {
    let builds = 0;
    const lazy = defineCatalog({
      "lazy.thing": defineEventType({
        description: "d",
        owner: "o",
        version: 1,
        payload: () => {
          builds += 1;
          return z.object({ n: z.int() });
        },
        examples: [{ n: 1 }],
      }),
    });
    expect(builds, "at load").to.equal(0);
    expect(checkCatalog(lazy, policy("enforce"), { event_type: "lazy.thing", payload: { n: 1 } })).to.include({ ok: true });
    expect(checkCatalog(lazy, policy("enforce"), { event_type: "lazy.thing", payload: { n: "1" } })).to.include({ ok: false });
    expect(builds).to.equal(1);
  });

  it("refuses a version that is not a positive integer, and a type name that is not a valid event_type", () => {
    expect(() => defineEventType({ description: "d", owner: "o", version: 0, payload: z.object({}), examples: [{}] })).to.throw("positive integer");
    expect(() => defineCatalog({ "bad type": CATALOG.types.push })).to.throw('"bad type" is not a valid event_type');
  });
});

describe("checkCatalog: generated payloads (fast-check)", () => {
  /** A 10-field schema, and for each field an arbitrary of valid values and one of wrong ones. */
  const FIELDS = {
    id: { schema: z.string().check(z.minLength(1)), valid: fc.string({ minLength: 1 }), wrong: fc.oneof(fc.integer(), fc.constant("")) },
    count: { schema: z.int().check(z.nonnegative()), valid: fc.nat(), wrong: fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true, noNaN: true }), fc.string()) },
    price: { schema: z.number(), valid: fc.double({ noNaN: true, noDefaultInfinity: true }), wrong: fc.oneof(fc.string(), fc.boolean()) },
    active: { schema: z.boolean(), valid: fc.boolean(), wrong: fc.oneof(fc.integer(), fc.string()) },
    kind: { schema: z.enum(["a", "b", "c"]), valid: fc.constantFrom("a", "b", "c"), wrong: fc.string().filter((s) => !["a", "b", "c"].includes(s)) },
    tags: { schema: z.array(z.string()), valid: fc.array(fc.string()), wrong: fc.oneof(fc.string(), fc.array(fc.integer(), { minLength: 1 })) },
    email: { schema: z.string().check(z.regex(/^[^@\s]+@[^@\s]+$/)), valid: fc.constantFrom("a@b", "jane@example.com"), wrong: fc.constantFrom("nope", "a@", 5) },
    note: { schema: z.optional(z.string()), valid: fc.option(fc.string(), { nil: undefined }), wrong: fc.oneof(fc.integer(), fc.boolean()) },
    ratio: { schema: z.number().check(z.gte(0), z.lte(1)), valid: fc.double({ min: 0, max: 1, noNaN: true }), wrong: fc.oneof(fc.double({ min: 1.5, max: 100, noNaN: true }), fc.constant(-0.5)) },
    where: { schema: z.object({ city: z.string() }), valid: fc.record({ city: fc.string() }), wrong: fc.oneof(fc.constant({}), fc.record({ city: fc.integer() })) },
  };
  type Field = keyof typeof FIELDS;
  const names = Object.keys(FIELDS) as Field[];
  const schema = z.object(Object.fromEntries(names.map((n) => [n, FIELDS[n].schema])) as { [K in Field]: (typeof FIELDS)[K]["schema"] });
  const catalog = defineCatalog({ "thing.happened": defineEventType({ description: "d", owner: "o", version: 1, payload: schema, examples: [{ id: "x", count: 0, price: 1, active: true, kind: "a", tags: [], email: "a@b", ratio: 0, where: { city: "x" } }] }) });
  const validPayload = fc.record(Object.fromEntries(names.map((n) => [n, FIELDS[n].valid])) as { [K in Field]: fc.Arbitrary<unknown> }).map((p) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>);

  it("accepts every payload generated from the schema", () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const verdict = checkCatalog(catalog, policy("enforce"), { event_type: "thing.happened", payload });
        expect(verdict, JSON.stringify(payload)).to.deep.equal({ ok: true, stamp: { version: 1, valid: true } });
      }),
    );
  });

  it("refuses a payload mutated at one random field with exactly that field's pointer (nested for `where`)", () => {
    const mutated = fc.constantFrom(...names).chain((field) => fc.tuple(fc.constant(field), validPayload, FIELDS[field].wrong));
    fc.assert(
      fc.property(mutated, ([field, payload, wrong]) => {
        const broken = { ...payload, [field]: wrong };
        const verdict = checkCatalog(catalog, policy("enforce"), { event_type: "thing.happened", payload: broken });
        expect(verdict.ok, JSON.stringify(broken)).to.equal(false);
        const found = (verdict as { problem: { errors: { pointer: string }[] } }).problem.errors.map((e) => e.pointer);
        for (const pointer of found) expect(pointer === `/payload/${field}` || pointer.startsWith(`/payload/${field}/`), `${pointer} for ${field}`).to.equal(true);
      }),
    );
  });

  it("refuses a payload missing a required field at that field's pointer, and never alters the payload", () => {
    fc.assert(
      fc.property(validPayload, fc.constantFrom(...names.filter((n) => n !== "note")), (payload, field) => {
        const { [field]: _removed, ...rest } = payload;
        const before = JSON.stringify(rest);
        const errors = payloadViolations(catalog.types["thing.happened"], { payload: rest });
        expect(errors.map((e) => e.pointer)).to.deep.equal([`/payload/${field}`]);
        expect(JSON.stringify(rest)).to.equal(before);
      }),
    );
  });
});
