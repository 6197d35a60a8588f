/**
 * Least privilege from the other side: which DynamoDB actions does each function's code actually
 * call? Each Lambda entry (handlers/<name>.ts, the module the bundle is built from, with the
 * environment the deploy sets) is imported once and driven through every route it serves, on the
 * paths that touch storage (new, repeated and conflicting writes, batches with and without
 * idempotency keys, reads, listings with filters and cursors, acks and repeats). Its DynamoDB client
 * reaches dynalite through a recording proxy, so the operations are read off the wire, as IAM sees
 * them. Calls run one at a time, so each recorded request belongs to the function that sent it.
 *
 * The recorded operations must equal the declaration in handlers/routes.ts that the Pulumi program
 * grants from (test/infra/stack.test.ts checks the grants against the declaration): an action
 * declared but never called, or called but not declared, fails here. Per table: the events table
 * against `eventsTableActions`, the deliveries table against `deliveriesTableActions`; the
 * functions run with one subscription (a real receiver and a local SQS queue), so the delivery
 * paths run too, and the dispatcher and the deliverer (DELIVERY_HANDLERS) are driven the same way.
 */
import { expect } from "chai";
import * as path from "node:path";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import { PROJECT_ROOT } from "../../components/bundle";
import { eventStoreEnvironment } from "../../handlers/lib/ops/config";
import { createDocumentClient } from "../../handlers/lib/store/store";
import { API_KEYS_TABLE, DELIVERIES_TABLE, ENV, EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { AUTHORIZER_HANDLER, DELIVERY_HANDLERS, HANDLERS, ROUTES, routeKey, type HandlerName } from "../../handlers/routes";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { deliveryEnvironment, newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import { sqsRecord } from "../../local/sqs/poller";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { startReceiver, type TestReceiver } from "../support/receiver";
import { startDynalite, TEST_CREDENTIALS, type TestDynamo } from "../support/dynalite";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamoProxy";
import { authorizerEvent, httpEvent, postEvent } from "../support/events";
import { captureLogs, type CapturedLogs } from "../support/logs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { webhookEnvironment } from "../../handlers/lib/webhooks/sources";
import { createSsmEndpoint } from "../../local/ssm";
import { WebhookSourceStore } from "../../local/webhookStore";
import { tempDir } from "../support/tempDirs";
import { webhookEvent } from "../support/webhookHandler";
import { signDelivery } from "../support/webhookSenders";

type Invoke = (event: unknown) => Promise<{ statusCode?: number; body?: string } | unknown>;
type FunctionName = HandlerName | "authorizer" | keyof typeof DELIVERY_HANDLERS;

/** What one function sent: operation names and the tables they named, and the operations per table. */
interface Recorded {
  operations: Set<string>;
  tables: Set<string>;
  byTable: Map<string, Set<string>>;
}

const EVENTS = "lp-events";
const DELIVERIES = "lp-deliveries";
/** The one subscription the delivery functions know: its queue on a local SQS, its receiver a real server. */
const SUBSCRIPTION = { name: "lp", filters: ["lp.*"], parameter: "/lp/subscriptions/lp/secret", secret: newSubscriptionSecret() };
/** The webhook source the webhook function is configured with; its secret comes from a local SSM endpoint. */
const WEBHOOK = { name: "lp", scheme: "github", secret: "least-privilege-webhook-secret" } as const;
const API_KEYS = "lp-api-keys";

describe("least privilege, derived from the calls each function's code sends", function () {
  this.timeout(60_000);
  let dynamo: TestDynamo;
  let proxy: DynamoProxy;
  let logs: CapturedLogs;
  let apiKey: string;
  let ssm: Server;
  let sqs: LocalSqs;
  let sqsClient: SQSClient;
  let receiver: TestReceiver;
  let queueUrl: string;
  let queueArn: string;
  const savedEnv = { ...process.env };
  const functions = {} as Record<FunctionName, Invoke>;
  const recorded = {} as Record<FunctionName, Recorded>;

  /** Invokes `name` alone and files every DynamoDB request sent meanwhile under `name`. */
  async function invoke(name: FunctionName, event: unknown): Promise<{ statusCode?: number; body?: string }> {
    const from = proxy.log.length;
    const result = (await functions[name](event)) as { statusCode?: number; body?: string };
    for (const request of proxy.log.slice(from)) {
      recorded[name].operations.add(request.operation);
      const body = JSON.parse(request.body) as { TableName?: string; RequestItems?: Record<string, unknown> };
      for (const table of [body.TableName, ...Object.keys(body.RequestItems ?? {})]) {
        if (!table) continue;
        recorded[name].tables.add(table);
        if (!recorded[name].byTable.has(table)) recorded[name].byTable.set(table, new Set());
        recorded[name].byTable.get(table)!.add(request.operation);
      }
    }
    return result;
  }

  const get = (routeKeyValue: string, query: Record<string, string> = {}, pathParameters?: Record<string, string>) => {
    const event = httpEvent({ routeKey: routeKeyValue, headers: { "content-type": undefined } });
    event.rawQueryString = new URLSearchParams(query).toString();
    if (Object.keys(query).length) event.queryStringParameters = query;
    if (pathParameters) event.pathParameters = pathParameters;
    return event;
  };
  const batch = (events: unknown[]) => httpEvent({ routeKey: "POST /events/batch", body: JSON.stringify({ events }) });
  const eventId = (response: { body?: string }) => (JSON.parse(response.body!) as { event_id: string }).event_id;

  /** Per route: requests that take every path of its handler that touches storage. */
  const SCENARIOS: Record<string, (name: FunctionName) => Promise<void>> = {
    "POST /events": async (name) => {
      expect((await invoke(name, postEvent({ event_type: "lp.one", payload: {} }))).statusCode).to.equal(201);
      const headers = { "idempotency-key": "lp-key" };
      expect((await invoke(name, postEvent({ event_type: "lp.two", payload: {} }, { headers }))).statusCode).to.equal(201);
      expect((await invoke(name, postEvent({ event_type: "lp.two", payload: {} }, { headers }))).statusCode).to.equal(200);
      expect((await invoke(name, postEvent({ event_type: "lp.two", payload: { other: 1 } }, { headers }))).statusCode).to.equal(422);
    },
    "POST /events/batch": async (name) => {
      const items = [{ event_type: "lp.batch", payload: { n: 1 } }, { event_type: "lp.batch", payload: { n: 2 }, idempotency_key: "lp-item" }];
      expect((await invoke(name, batch(items))).statusCode).to.equal(200);
      expect((await invoke(name, batch(items))).statusCode).to.equal(200);
      expect((await invoke(name, batch([{ ...items[1]!, payload: { n: 3 } }]))).statusCode).to.equal(207);
    },
    "GET /events/{event_id}": async (name) => {
      const id = eventId(await invoke("ingest", postEvent({ event_type: "lp.read", payload: {} })));
      expect((await invoke(name, get("GET /events/{event_id}", {}, { event_id: id }))).statusCode).to.equal(200);
      expect((await invoke(name, get("GET /events/{event_id}", {}, { event_id: "evt_00000000000000000000000000" }))).statusCode).to.equal(404);
    },
    "GET /events": async (name) => {
      for (const n of [1, 2]) await invoke("ingest", postEvent({ event_type: "lp.list", payload: { n } }));
      // A payload stored compressed (4 KB: over the 2.5 KiB threshold) is not in the status index: the listing reads it with BatchGetItem (ADR 0035).
      await invoke("ingest", postEvent({ event_type: "lp.list", payload: { text: "x".repeat(4096) } }));
      const first = await invoke(name, get("GET /events", { limit: "1" }));
      expect(first.statusCode).to.equal(200);
      const cursor = (JSON.parse(first.body!) as { next_cursor: string }).next_cursor;
      expect((await invoke(name, get("GET /events", { limit: "1", cursor }))).statusCode).to.equal(200);
      expect((await invoke(name, get("GET /events", { status: "pending", event_type: "lp.batch" }))).statusCode).to.equal(200);
    },
    "GET /inbox": async (name) => {
      expect((await invoke(name, get("GET /inbox", { limit: "2" }))).statusCode).to.equal(200);
    },
    "POST /events/{event_id}/ack": async (name) => {
      const id = eventId(await invoke("ingest", postEvent({ event_type: "lp.ack", payload: {} })));
      const ack = (event_id: string) => {
        const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined } });
        event.pathParameters = { event_id };
        return event;
      };
      expect((await invoke(name, ack(id))).statusCode).to.equal(200);
      expect((await invoke(name, ack(id))).statusCode).to.equal(200);
      expect((await invoke(name, ack("evt_00000000000000000000000000"))).statusCode).to.equal(404);
    },
    "POST /webhooks/{source}": async (name) => {
      const deliver = async (body: string, deliveryId: string) =>
        invoke(name, webhookEvent(WEBHOOK.name, await signDelivery("github", { secret: WEBHOOK.secret, body, deliveryId })));
      expect((await invoke(name, webhookEvent("nobody", await signDelivery("github", { secret: WEBHOOK.secret, body: "{}" })))).statusCode).to.equal(401);
      expect((await deliver('{"action":"opened"}', "lp-delivery-1")).statusCode).to.equal(201);
      expect((await deliver('{"action":"opened"}', "lp-delivery-1")).statusCode).to.equal(200);
      expect((await deliver('{"action":"closed"}', "lp-delivery-1")).statusCode).to.equal(422);
    },
    "GET /events/{event_id}/deliveries": async (name) => {
      const id = eventId(await invoke("ingest", postEvent({ event_type: "lp.deliveries", payload: {} })));
      expect((await invoke(name, get("GET /events/{event_id}/deliveries", {}, { event_id: id }))).statusCode).to.equal(200);
      expect((await invoke(name, get("GET /events/{event_id}/deliveries", {}, { event_id: "evt_00000000000000000000000000" }))).statusCode).to.equal(404);
    },
    "POST /events/{event_id}/replay": async (name) => {
      const id = eventId(await invoke("ingest", postEvent({ event_type: "lp.replay", payload: {} })));
      const replay = (event_id: string, query: Record<string, string> = {}) => {
        const event = httpEvent({ routeKey: "POST /events/{event_id}/replay", headers: { "content-type": undefined }, caller: { key_id: "0123456789abcdef", scopes: "replay" } });
        event.rawQueryString = new URLSearchParams(query).toString();
        if (Object.keys(query).length) event.queryStringParameters = query;
        event.pathParameters = { event_id };
        return event;
      };
      expect((await invoke(name, replay(id))).statusCode).to.equal(202);
      expect((await invoke(name, replay(id, { subscription: "nobody" }))).statusCode).to.equal(400);
      expect((await invoke(name, replay("evt_00000000000000000000000000"))).statusCode).to.equal(404);
      const other = eventId(await invoke("ingest", postEvent({ event_type: "other.type", payload: {} })));
      expect((await invoke(name, replay(other))).statusCode).to.equal(409);
    },
    "GET /health": async (name) => {
      expect((await invoke(name, get("GET /health"))).statusCode).to.equal(200);
    },
    "GET /openapi.json": async (name) => {
      expect((await invoke(name, get("GET /openapi.json"))).statusCode).to.equal(200);
    },
    "GET /catalog": async (name) => {
      expect((await invoke(name, get("GET /catalog"))).statusCode).to.equal(200);
    },
  };

  before(async () => {
    logs = captureLogs();
    dynamo = await startDynalite();
    await dynamo.createTable(EVENTS_TABLE, EVENTS);
    await dynamo.createTable(API_KEYS_TABLE, API_KEYS);
    await dynamo.createTable(DELIVERIES_TABLE, DELIVERIES);
    sqs = await startLocalSqs({ port: 0, region: "eu-north-1" });
    const queue = sqs.store.createQueue("lp-delivery-lp", {});
    queueUrl = sqs.queueUrl("lp-delivery-lp");
    queueArn = queue.arn;
    sqsClient = new SQSClient({ endpoint: sqs.endpoint, region: "eu-north-1", credentials: TEST_CREDENTIALS });
    receiver = await startReceiver(SUBSCRIPTION.secret);
    apiKey = (await new ApiKeyStore(dynamo.doc, API_KEYS).create("lp", ["ingest", "read"])).apiKey;
    proxy = await startDynamoProxy(dynamo.endpoint, () => "forward");
    const webhooks = new WebhookSourceStore(tempDir("event-ingestion-lp-"));
    webhooks.put(WEBHOOK.name, WEBHOOK.scheme, WEBHOOK.secret);
    ssm = createSsmEndpoint({ secretsByParameter: () => new Map([...webhooks.secretsByParameter(), [SUBSCRIPTION.parameter, [SUBSCRIPTION.secret]]]) }, { accessKeyId: TEST_CREDENTIALS.accessKeyId });
    await new Promise<void>((resolve) => ssm.listen(0, "127.0.0.1", resolve));
    // What the deployed functions get, with the SDK pointed at the recording proxy.
    Object.assign(process.env, {
      AWS_REGION: "eu-north-1",
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
      AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
      ...webhookEnvironment(webhooks.functionSources(), 300),
      ...eventStoreEnvironment({ eventsTable: EVENTS, statusIndexShards: 4, maxEventBytes: 65_536 }),
      [ENV.apiKeysTable]: API_KEYS,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      ...deliveryEnvironment({
        subscriptions: [{ name: SUBSCRIPTION.name, url: receiver.url, filters: SUBSCRIPTION.filters, queueUrl, secretParameter: SUBSCRIPTION.parameter }],
        deliveriesTable: DELIVERIES,
        maxAttempts: 2,
        allowLoopback: true,
      }),
    });
    const entries: [FunctionName, string][] = [
      ...(Object.entries(HANDLERS) as [HandlerName, { entry: string }][]).map(([name, spec]): [FunctionName, string] => [name, spec.entry]),
      ["authorizer", AUTHORIZER_HANDLER.entry],
      ...(Object.entries(DELIVERY_HANDLERS) as [keyof typeof DELIVERY_HANDLERS, { entry: string }][]).map(([name, spec]): [FunctionName, string] => [name, spec.entry]),
    ];
    for (const [name, entry] of entries) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      functions[name] = (require(path.join(PROJECT_ROOT, entry)) as { handler: Invoke }).handler;
      recorded[name] = { operations: new Set(), tables: new Set(), byTable: new Map() };
    }
  });
  after(async () => {
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
    await proxy?.close();
    sqsClient?.destroy();
    await sqs?.close();
    await receiver?.close();
    await new Promise((resolve) => (ssm ? ssm.close(resolve) : resolve(undefined)));
    await dynamo?.close();
    logs?.restore();
  });

  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    it(`${name}: calls on the events table exactly the actions HANDLERS.${name}.eventsTableActions declares`, async () => {
      const routes = ROUTES.filter((r) => r.handler === name).map(routeKey);
      expect(routes, `${name} serves no route`).not.to.deep.equal([]);
      for (const route of routes) {
        const scenario = SCENARIOS[route];
        expect(scenario, `no scenario for ${route}: add one above that takes each of its storage paths`).to.be.a("function");
        await scenario!(name);
      }
      expectDeclared(name, HANDLERS[name]);
    });
  }

  /** Per table, the operations sent equal the declaration; no other table is touched. */
  function expectDeclared(name: FunctionName, spec: { eventsTableActions: readonly string[]; deliveriesTableActions?: readonly string[] }): void {
    const strip = (actions: readonly string[]) => actions.map((action) => action.replace(/^dynamodb:/, "")).sort();
    const declaredEvents = strip(spec.eventsTableActions);
    const declaredDeliveries = strip(spec.deliveriesTableActions ?? []);
    expect([...(recorded[name].byTable.get(EVENTS) ?? [])].sort(), `${name} sent to the events table`).to.deep.equal(declaredEvents);
    expect([...(recorded[name].byTable.get(DELIVERIES) ?? [])].sort(), `${name} sent to the deliveries table`).to.deep.equal(declaredDeliveries);
    const expectedTables = [...(declaredEvents.length ? [EVENTS] : []), ...(declaredDeliveries.length ? [DELIVERIES] : [])];
    expect([...recorded[name].tables].sort(), `${name} touched`).to.deep.equal(expectedTables.sort());
  }

  it("deliveryDispatch: for a stream INSERT, calls on each table exactly what DELIVERY_HANDLERS.deliveryDispatch declares", async () => {
    const id = eventId(await invoke("ingest", postEvent({ event_type: "lp.dispatch", payload: {} })));
    const record = (sequence: string) => ({
      eventID: sequence,
      eventName: "INSERT",
      eventSource: "aws:dynamodb",
      awsRegion: "eu-north-1",
      dynamodb: { Keys: { event_id: { S: id } }, NewImage: { event_id: { S: id }, event_type: { S: "lp.dispatch" } }, SequenceNumber: sequence, StreamViewType: "NEW_IMAGE" },
    });
    const result = (await invoke("deliveryDispatch", { Records: [record("1"), record("2")] })) as unknown as { batchItemFailures: unknown[] };
    expect(result.batchItemFailures).to.deep.equal([]);
    expectDeclared("deliveryDispatch", DELIVERY_HANDLERS.deliveryDispatch);
  });

  it("deliverer: for deliveries that succeed, calls on each table exactly what DELIVERY_HANDLERS.deliverer declares", async () => {
    const received = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
    // One message per delivery (the dispatch scenario queued its event twice): the dispatched
    // event's (matched to this subscription alone) and the replay scenario's (its states are read).
    const byWebhookId = new Map((received.Messages ?? []).map((m) => [(JSON.parse(m.Body!) as { webhook_id: string }).webhook_id, m]));
    const records = [...byWebhookId.values()].map((m) => sqsRecord(m, queueArn, "eu-north-1"));
    expect(records.length).to.equal(2);
    receiver.behaviour = () => ({ status: 204 });
    const ok = (await invoke("deliverer", { Records: records })) as unknown as { batchItemFailures: unknown[] };
    expect(ok.batchItemFailures).to.deep.equal([]);
    expect(receiver.accepted().length).to.equal(2);
    expectDeclared("deliverer", DELIVERY_HANDLERS.deliverer);
  });

  it("authorizer: calls on the API keys table exactly AUTHORIZER_HANDLER.apiKeysTableActions", async () => {
    const allowed = (await invoke("authorizer", authorizerEvent(`Bearer ${apiKey}`))) as unknown as { isAuthorized: boolean };
    expect(allowed.isAuthorized).to.equal(true);
    const unknown = (await invoke("authorizer", authorizerEvent("Bearer eik_0000000000000000_00000000000000000000000000000000"))) as unknown as { isAuthorized: boolean };
    expect(unknown.isAuthorized).to.equal(false);
    const declared = AUTHORIZER_HANDLER.apiKeysTableActions.map((action) => action.replace(/^dynamodb:/, ""));
    expect([...recorded.authorizer.operations].sort()).to.deep.equal([...declared].sort());
    expect([...recorded.authorizer.tables]).to.deep.equal([API_KEYS]);
  });
});
