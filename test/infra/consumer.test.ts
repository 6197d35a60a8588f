/**
 * EventStore.onEvent and the consumer index.ts ships (config forwardToEventBridge): the stream
 * exists only with a consumer; the consumer's role reads that stream and sends to its own
 * dead-letter queue, nothing more; and the closure Pulumi serialized runs in a fresh Node process.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { storedItem, type EventRecord } from "../../handlers/lib/events/record";
import { readJson } from "../../handlers/lib/primitives/json";
import { EventConsumer, NEW_EVENTS_FILTER } from "../../components/EventConsumer";
import { EventStore } from "../../components/EventStore";
import { decodedImage } from "../../components/storedImage";
import { expectLeastPrivilege, policyOf } from "../support/leastPrivilege";
import { ACCOUNT, buildStack, REGION, type BuiltStack } from "../../cli/preview/mockStack";
import { codeOf, requestEntrySize, runInFreshProcess, startFakeEventBridge, type FakeEventBridge } from "../support/eventBridgeForwarder";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";

// Expected action lists, written here, never imported from the code.
const STREAM_READ_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"];
const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
const TABLE = "aws:dynamodb/table:Table";
const FUNCTION = "aws:lambda/function:Function";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";
const QUEUE = "aws:sqs/queue:Queue";
const BUS = "aws:cloudwatch/eventBus:EventBus";

const eventsTable = (s: BuiltStack) => s.one(TABLE, (t) => t.inputs.name === `event-ingestion-${s.stack}-events`);
const consumerFunction = (s: BuiltStack) => s.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-${s.stack}-consumer-forward`);
const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));

describe("EventStore.onEvent and the forwardToEventBridge consumer", function () {
  this.timeout(60_000);
  let off: BuiltStack;
  let on: BuiltStack;
  before(async () => {
    off = await sharedStack("dev");
    on = await sharedStack("dev", EVERYTHING_ON);
  });

  describe("config forwardToEventBridge", () => {
    it("off (the default): no stream, no consumer, no queue, no bus", () => {
      expect(eventsTable(off).inputs.streamEnabled).to.equal(false);
      expect(eventsTable(off).inputs).not.to.have.property("streamViewType");
      for (const type of [MAPPING, QUEUE, BUS]) expect(off.ofType(type), type).to.have.length(0);
      expect(off.ofType(FUNCTION).map((f) => f.inputs.name)).not.to.include("event-ingestion-dev-consumer-forward");
      expect(off.outputs.eventBusName).to.equal(undefined);
    });

    it("on: the table streams NEW_IMAGE and one mapping feeds only inserts to the consumer", () => {
      const table = eventsTable(on);
      expect(table.inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_IMAGE" });
      const mapping = on.one(MAPPING).inputs;
      const queue = on.one(QUEUE);
      expect(mapping).to.deep.include({
        eventSourceArn: table.state.streamArn,
        functionName: consumerFunction(on).state.arn,
        startingPosition: "TRIM_HORIZON",
        batchSize: 100,
        maximumRetryAttempts: 3,
        bisectBatchOnFunctionError: true,
        filterCriteria: { filters: [{ pattern: NEW_EVENTS_FILTER }] },
        destinationConfig: { onFailure: { destinationArn: queue.state.arn } },
      });
      expect(JSON.parse(NEW_EVENTS_FILTER)).to.deep.equal({ eventName: ["INSERT"] });
    });

    it("on: failed batches go to the consumer's own encrypted dead-letter queue, kept 14 days", () => {
      expect(on.one(QUEUE).inputs).to.deep.include({
        name: "event-ingestion-dev-consumer-forward-dlq",
        messageRetentionSeconds: 14 * 86_400,
        sqsManagedSseEnabled: true,
      });
    });

    it("on: the consumer is arm64 nodejs24.x with JSON logs in its own log group, and knows its bus", () => {
      const consumer = consumerFunction(on).inputs;
      expect(consumer).to.deep.include({ runtime: "nodejs24.x", architectures: ["arm64"], handler: "index.handler", memorySize: 256, timeout: 30 });
      expect(consumer.loggingConfig).to.deep.include({ logFormat: "JSON", logGroup: "/aws/lambda/event-ingestion-dev-consumer-forward" });
      expect(consumer.environment.variables).to.deep.equal({ EVENT_BUS_NAME: "event-ingestion-dev-events" });
      expect(on.one(BUS).inputs.name).to.equal("event-ingestion-dev-events");
      expect(on.outputs.eventBusName).to.equal("event-ingestion-dev-events");
    });

    it("on: the consumer's role reads the stream, sends to its DLQ, puts events on its bus, writes its logs (and traces); nothing else", () => {
      const consumer = consumerFunction(on);
      const statements = policyOf(on, consumer).Statement;
      expect(statements).to.deep.equal([
        { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/event-ingestion-dev-consumer-forward:*`] },
        { Effect: "Allow", Action: [...STREAM_READ_ACTIONS], Resource: [eventsTable(on).state.streamArn] },
        { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [on.one(QUEUE).state.arn] },
        { Effect: "Allow", Action: ["events:PutEvents"], Resource: [on.one(BUS).state.arn] },
        // This build has tracing on (docs/adr/0013).
        { Effect: "Allow", Action: [...XRAY_WRITE_ACTIONS], Resource: ["*"] },
      ]);
      for (const f of on.ofType(FUNCTION)) expectLeastPrivilege(on, f);
    });

    it("on: no managed policy is attached to any role (CallbackFunction's full-access defaults are never used)", () => {
      expect(on.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).to.have.length(0);
      for (const role of on.ofType("aws:iam/role:Role")) expect(role.inputs, role.name).not.to.have.property("managedPolicyArns");
    });
  });

  describe("the serialized callback, run in a fresh Node process", () => {
    let eventBridge: FakeEventBridge;
    let code: string;
    before(async () => {
      eventBridge = await startFakeEventBridge();
      code = await codeOf(consumerFunction(on));
    });
    after(() => eventBridge.close());
    beforeEach(() => eventBridge.reset());

    it("is a self-contained CommonJS module: no Pulumi inside, the SDK from Lambda's runtime", () => {
      expect(code).to.match(/exports\.handler = /);
      expect(code).not.to.include("@pulumi");
      expect(code).to.include('require("@aws-sdk/client-eventbridge")');
    });

    it("puts each inserted event on the bus, 10 entries per call, with exact numbers and without storage fields", async () => {
      const inserts = Array.from({ length: 12 }, (_, i) => insertRecord(i));
      const result = await runInFreshProcess(code, { Records: [...inserts, modifyRecord()] }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);

      expect(eventBridge.calls.map((c) => c.Entries.length)).to.deep.equal([10, 2]);
      const entries = eventBridge.calls.flatMap((c) => c.Entries);
      expect(entries.map((e) => JSON.parse(e.Detail).event_id)).to.deep.equal(inserts.map((_, i) => eventId(i)));
      const [first] = entries;
      expect(first).to.deep.include({
        EventBusName: "event-ingestion-dev-events",
        Source: "event-ingestion",
        DetailType: "order.created",
        Time: "2026-11-22T10:00:00.000Z",
      });
      // Digits beyond a double's precision arrive exactly as they were stored; an integer beyond
      // signed 64 bits as a string of the same digits, named in string_encoded_numbers.
      expect(first!.Detail).to.include('"total":"12345678901234567890"').and.include('"rate":0.1000000000000000055511151231257827');
      expect(JSON.parse(first!.Detail).string_encoded_numbers).to.deep.equal(["/payload/total"]);
      const detail = JSON.parse(first!.Detail);
      expect(detail).to.deep.include({
        event_id: eventId(0),
        event_type: "order.created",
        metadata: { tenant: "acme", attempt: 1, test: true },
        created_at: "2026-11-22T10:00:00.000Z",
        source: { api_key_id: "key_0123456789abcdef" },
        schema_version: 1,
      });
      expect(detail.payload).to.deep.include({ order_id: "o-0", lines: [{ sku: "a", qty: 2 }], note: null });
      for (const internal of ["status", "status_shard", "request_sha256", "delivery_attempts", "delivered_at", "ttl"]) {
        expect(detail, internal).not.to.have.property(internal);
      }
    });

    it("forwards a payload stored compressed (storage format 2) exactly as received, and a claim-checked one without its payload", async () => {
      const text = `{"action":"opened","number":42,"id":12345678901234567890123,"price":0.1000000000000000055511151231257827,"body":"${"long text ".repeat(300)}"}`;
      const record = insertRecord(0);
      const { payload: _payload, ...rest } = unmarshall(record.dynamodb.NewImage);
      const item = storedItem({ ...rest, payload: readJson(text, { maxDepth: 40 }) } as EventRecord);
      expect(item.storage_format).to.equal(2);
      // Lambda hands stream records over as JSON: binary attributes arrive base64-encoded.
      const image = marshall({ ...item, payload_br: undefined }, { removeUndefinedValues: true });
      image.payload_br = { B: Buffer.from(item.payload_br!).toString("base64") } as never;
      record.dynamodb.NewImage = image;
      const claimChecked = insertRecord(1);
      delete claimChecked.dynamodb.NewImage.payload;
      Object.assign(claimChecked.dynamodb.NewImage, { storage_format: { N: "2" }, payload_object: { S: "events/x/y.json.br" }, payload_bytes: { N: "5000000" } });
      const result = await runInFreshProcess(code, { Records: [record, claimChecked] }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);
      const [whole, omitted] = eventBridge.calls.flatMap((c) => c.Entries).map((e) => e.Detail);
      // The integer beyond signed 64 bits travels as a string (ADR 0023); every other byte as received.
      expect(whole).to.include(`"payload":${text.replace("12345678901234567890123", '"12345678901234567890123"')}`);
      for (const internal of ["storage_format", "payload_br", "payload_bytes", "payload_object"]) expect(whole).not.to.include(internal);
      expect(JSON.parse(omitted!)).to.include({ payload_omitted: "too_large", event_id: eventId(1) }).and.not.to.have.property("payload");
    });

    it("carries integers at both signed 64-bit bounds as numbers and beyond them as strings EventBridge accepts, with their pointers", async () => {
      const numbers: Record<string, string> = {
        min: "-9223372036854775808",
        max: "9223372036854775807",
        below: "-9223372036854775809",
        above: "9223372036854775808",
        huge: "1E+100",
        small: "0.000001",
      };
      const record = insertRecord(0);
      const payload = record.dynamodb.NewImage.payload!.M!;
      for (const [key, digits] of Object.entries(numbers)) payload[key] = { N: digits };
      payload["a/b~c"] = { L: [{ N: "1" }, { N: "99999999999999999999" }] };
      const result = await runInFreshProcess(code, { Records: [record] }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);

      const detail = eventBridge.calls[0]!.Entries[0]!.Detail;
      expect(detail).to.include('"min":-9223372036854775808').and.include('"max":9223372036854775807').and.include('"small":0.000001');
      expect(detail).to.include('"below":"-9223372036854775809"').and.include('"above":"9223372036854775808"').and.include('"huge":"1E+100"');
      expect(detail).to.include('"a/b~c":[1,"99999999999999999999"]');
      expect(JSON.parse(detail).string_encoded_numbers).to.have.members([
        "/payload/total", "/payload/below", "/payload/above", "/payload/huge", "/payload/a~1b~0c/1",
      ]);
    });

    it("splits PutEvents calls by size as well as count: ten 260 KB events go in calls under 1 MiB each", async () => {
      const inserts = Array.from({ length: 10 }, (_, i) => withPayloadBytes(insertRecord(i), 260 * 1024));
      const result = await runInFreshProcess(code, { Records: inserts }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);
      expect(eventBridge.refusedRequests).to.equal(0);
      // Three events of about 260 KB fit under 1 MiB, a fourth would not; count alone would send one call of 10.
      expect(eventBridge.calls.map((c) => c.Entries.length)).to.deep.equal([3, 3, 3, 1]);
      for (const call of eventBridge.calls) expect(requestEntrySize(call.Entries)).to.be.below(1024 * 1024);
      expect(eventBridge.calls.flatMap((c) => c.Entries).map((e) => JSON.parse(e.Detail).event_id)).to.deep.equal(inserts.map((_, i) => eventId(i)));
    });

    it("sends a 300 KB event whole (EventBridge takes 1 MiB), and one that alone exceeds 1 MiB without its payload, marked payload_omitted", async () => {
      const result = await runInFreshProcess(code, { Records: [withPayloadBytes(insertRecord(0), 1100 * 1024), insertRecord(1), withPayloadBytes(insertRecord(2), 300 * 1024)] }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);
      const [big, small, medium] = eventBridge.calls.flatMap((c) => c.Entries).map((e) => JSON.parse(e.Detail));
      expect(medium).to.have.property("payload");
      expect(medium).not.to.have.property("payload_omitted");
      expect(big).to.include({ event_id: eventId(0), payload_omitted: "too_large", event_type: "order.created" });
      expect(big).not.to.have.property("payload");
      expect(small).to.have.property("payload");
      expect(small).not.to.have.property("payload_omitted");
    });

    it("is refused by the stand-in EventBridge as by AWS when a call is over 1 MiB or an integer is out of range", async () => {
      // Guards the guards: without the forwarder's splitting and string encoding these fail.
      const oversized = { Entries: Array.from({ length: 5 }, () => ({ Source: "s", DetailType: "t", Detail: JSON.stringify({ x: "y".repeat(220_000) }) })) };
      expect((await fetch(eventBridge.url, putEvents(oversized))).status).to.equal(400);
      const outOfRange = { Entries: [{ Source: "s", DetailType: "t", Detail: '{"n":9223372036854775808,"s":"9223372036854775808"}' }] };
      const answer = (await (await fetch(eventBridge.url, putEvents(outOfRange))).json()) as { FailedEntryCount: number; Entries: { ErrorCode?: string }[] };
      expect(answer).to.deep.include({ FailedEntryCount: 1 });
      expect(answer.Entries[0]!.ErrorCode).to.equal("MalformedDetail");
    });

    it("fails the batch when EventBridge refuses an entry, so Lambda retries, bisects and finally dead-letters it", async () => {
      eventBridge.failNext = 1;
      const result = await runInFreshProcess(code, { Records: [insertRecord(0), insertRecord(1)] }, eventBridge.url);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include("EventBridge refused 1 of 2 events: InternalFailure");
    });

    it("does nothing for a batch without inserts", async () => {
      const result = await runInFreshProcess(code, { Records: [modifyRecord()] }, eventBridge.url);
      expect(result.code, result.stderr).to.equal(0);
      expect(eventBridge.calls).to.have.length(0);
    });
  });

  describe("EventStore.onEvent on its own", () => {
    let current: BuiltStack;
    before(async () => {
      current = await buildStack("dev"); // components made below register under these mocks
    });
    /** What the current mocks recorded for the resource of `type` named `name`. */
    const recorded = (type: string, name: string) => current.resources.find((r) => r.type === type && r.name === name)!;

    it("refuses a table without a stream, naming the argument to set", () => {
      const store = new EventStore("no-stream");
      expect(() => store.onEvent("audit", async () => {})).to.throw(/the table has no stream; create the EventStore with stream: true/);
    });

    it("fails early on a bad name, a duplicate name, or options out of range", () => {
      const store = new EventStore("checks", { stream: true });
      expect(() => store.onEvent("Bad_Name", async () => {})).to.throw(/name must match \[a-z\]\[a-z0-9-\]\*/);
      expect(() => store.onEvent("big", async () => {}, { batchSize: 20_000 })).to.throw(/batchSize must be an integer from 1 to 10000/);
      expect(() => store.onEvent("retries", async () => {}, { maximumRetryAttempts: -1 })).to.throw(/maximumRetryAttempts must be an integer from 0/);
      expect(() => store.onEvent("start", async () => {}, { startingPosition: "AT_TIMESTAMP" as never })).to.throw(/startingPosition must be/);
      expect(() => store.onEvent("slow", async () => {}, { timeoutSeconds: 901 })).to.throw(/onEvent\("slow"\): timeoutSeconds must be an integer from 1 to 900/);
      store.onEvent("audit", async () => {});
      expect(() => store.onEvent("audit", async () => {})).to.throw(/already attached/);
    });

    it("takes its options, a transform, and (with deadLetterQueue: false) no queue and no sqs grant", async () => {
      const store = new EventStore("options", { stream: true, encryption: { kmsKeyArn: "arn:aws:kms:eu-north-1:123456789012:key/abc" } });
      const consumer = store.onEvent("plain", async () => {}, {
        batchSize: 10,
        startingPosition: "LATEST",
        maximumRetryAttempts: 0,
        bisectBatchOnError: false,
        deadLetterQueue: false,
        transform: { eventSourceMapping: { maximumBatchingWindowInSeconds: 5 } },
      });
      expect(consumer).to.be.instanceOf(EventConsumer);
      expect(consumer.deadLetterQueue).to.equal(undefined);
      expect(store.consumers).to.deep.equal([consumer]);
      expect(await resolve(consumer.urn)).to.include("event-ingestion:index:EventStore$event-ingestion:index:EventConsumer::options-plain");
      expect(await resolve(consumer.function.urn)).to.include("event-ingestion:index:EventConsumer$aws:lambda/function:Function::options-plain");
      await resolve(pulumi.all([consumer.eventSourceMapping.urn, consumer.function.urn]));
      const mapping = recorded(MAPPING, "options-plain-source").inputs;
      expect(mapping).to.deep.include({ batchSize: 10, startingPosition: "LATEST", maximumRetryAttempts: 0, bisectBatchOnFunctionError: false, maximumBatchingWindowInSeconds: 5 });
      expect(mapping).not.to.have.property("destinationConfig");
      const policy = JSON.parse(recorded("aws:iam/rolePolicy:RolePolicy", "options-plain-policy").inputs.policy);
      const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action);
      expect(actions).not.to.include("sqs:SendMessage");
      // A table encrypted with your own key: reading its stream needs kms:Decrypt on that key.
      expect(policy.Statement).to.deep.include({ Effect: "Allow", Action: ["kms:Decrypt"], Resource: ["arn:aws:kms:eu-north-1:123456789012:key/abc"] });
    });

    it("serializes a plain callback (not a factory) with what it captures, and it runs in a fresh process", async () => {
      const store = new EventStore("plain-callback", { stream: true });
      const greeting = "stored";
      const consumer = store.onEvent("echo", async (event) => {
        for (const record of event.Records) process.stdout.write(`${greeting} ${record.dynamodb.NewImage?.event_id?.S}\n`);
      });
      await resolve(consumer.function.urn);
      const code = await codeOf(recorded(FUNCTION, "plain-callback-echo"));
      const result = await runInFreshProcess(code, { Records: [insertRecord(7)] }, "http://127.0.0.1:9");
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`stored ${eventId(7)}\n`);
      expect(await resolve(consumer.function.name)).to.equal("event-ingestion-dev-consumer-echo");
    });

    it("gives a callback that calls decodedImage the payload of a compressed image back as a map, digits kept, stored-form attributes gone", async () => {
      const store = new EventStore("decoding-callback", { stream: true });
      const consumer = store.onEvent("decode", async (event) => {
        for (const record of event.Records) process.stdout.write(`${JSON.stringify(decodedImage(record.dynamodb.NewImage as Record<string, any>))}\n`);
      });
      await resolve(consumer.function.urn);
      const code = await codeOf(recorded(FUNCTION, "decoding-callback-decode"));
      expect(code).not.to.include("@pulumi");

      const text = `{"action":"opened","id":12345678901234567890123,"price":0.1000000000000000055511151231257827,"labels":[{"name":"bug","n":-1e+21}],"body":"${"long text ".repeat(300)}","ok":true,"none":null}`;
      const compressed = insertRecord(3);
      const { payload: _payload, ...rest } = unmarshall(compressed.dynamodb.NewImage);
      const item = storedItem({ ...rest, payload: readJson(text, { maxDepth: 40 }) } as EventRecord);
      expect(item.storage_format).to.equal(2);
      const image = marshall({ ...item, payload_br: undefined }, { removeUndefinedValues: true });
      image.payload_br = { B: Buffer.from(item.payload_br!).toString("base64") } as never;
      compressed.dynamodb.NewImage = image;
      const plain = insertRecord(4);

      const result = await runInFreshProcess(code, { Records: [compressed, plain] }, "http://127.0.0.1:9");
      expect(result.code, result.stderr).to.equal(0);
      const [decoded, unchanged] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
      // The same map a format-1 item would hold: every number as the literal received.
      expect(decoded.payload.M.id).to.deep.equal({ N: "12345678901234567890123" });
      expect(decoded.payload.M.price).to.deep.equal({ N: "0.1000000000000000055511151231257827" });
      expect(decoded.payload.M.labels).to.deep.equal({ L: [{ M: { name: { S: "bug" }, n: { N: "-1e+21" } } }] });
      expect(decoded.payload.M.body.S).to.equal("long text ".repeat(300));
      expect(decoded.payload.M.ok).to.deep.equal({ BOOL: true });
      expect(decoded.payload.M.none).to.deep.equal({ NULL: true });
      for (const internal of ["storage_format", "payload_br", "payload_bytes"]) expect(decoded, internal).not.to.have.property(internal);
      expect(decoded.event_id).to.deep.equal({ S: eventId(3) });
      // A format-1 image passes through untouched.
      expect(unchanged).to.deep.equal(JSON.parse(JSON.stringify(plain.dynamodb.NewImage)));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// A stream record like DynamoDB writes for a stored event, and the fresh-process runner.

function eventId(i: number): string {
  return `evt_01JDTEST${String(i).padStart(18, "0")}`;
}

function insertRecord(i: number) {
  const image = marshall(
    {
      event_id: eventId(i),
      event_type: "order.created",
      payload: { order_id: `o-${i}`, lines: [{ sku: "a", qty: 2 }], note: null },
      metadata: { tenant: "acme", attempt: 1, test: true },
      created_at: "2026-11-22T10:00:00.000Z",
      received_at: "2026-11-22T10:00:00.000Z",
      request_id: `req-${i}`,
      source: { api_key_id: "key_0123456789abcdef" },
      status: "pending",
      delivery_attempts: 0,
      delivered_at: null,
      ttl: 1_795_000_000,
      schema_version: 1,
      status_shard: "pending#3",
      request_sha256: "0".repeat(64),
    },
    { removeUndefinedValues: true },
  );
  // Numbers a double cannot carry, stored with every digit (the JSON reader's NumberValue).
  image.payload!.M!.total = { N: "12345678901234567890" };
  image.payload!.M!.rate = { N: "0.1000000000000000055511151231257827" };
  return {
    eventID: `e-${i}`,
    eventName: "INSERT",
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: REGION,
    dynamodb: { Keys: { event_id: { S: eventId(i) } }, NewImage: image, SequenceNumber: String(100 + i), SizeBytes: 512, StreamViewType: "NEW_IMAGE", ApproximateCreationDateTime: 1_795_000_000 },
  };
}

/** The record with a payload string that makes its detail about `bytes` long. */
function withPayloadBytes(record: ReturnType<typeof insertRecord>, bytes: number) {
  record.dynamodb.NewImage.payload!.M!.blob = { S: "x".repeat(bytes - 600) };
  return record;
}

function putEvents(body: unknown): RequestInit {
  return { method: "POST", headers: { "x-amz-target": "AWSEvents.PutEvents" }, body: JSON.stringify(body) };
}

function modifyRecord() {
  return { ...insertRecord(99), eventName: "MODIFY" };
}
