/**
 * POST /webhooks/{source} against dynalite, with deliveries signed by the senders' own libraries:
 * a verified delivery is stored once as a normal event; every rejection writes nothing.
 */
import { expect } from "chai";
import { createHmac } from "node:crypto";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { EVENT_ID_PATTERN } from "../../handlers/lib/primitives/ids";
import { createQueueProcessor } from "../../handlers/lib/queue/processQueue";
import { createSqsClient, QueueSender } from "../../handlers/lib/queue/queueSender";
import { EventRepository } from "../../handlers/lib/store/store";
import { RETRY_AFTER_SECONDS } from "../../handlers/lib/primitives/limits";
import { WEBHOOK_SCHEMES, generateSecret, type WebhookScheme } from "../../handlers/lib/webhooks/signatures";
import { startLocalSqs, type LocalSqs } from "../../local/sqs/server";
import { sqsRecord } from "../../local/sqs/poller";
import { TEST_CREDENTIALS, useDynalite } from "../support/dynalite";
import { closedEndpoint } from "../support/faults";
import { expectProblem, jsonBody } from "../support/http";
import { webhookEvent, webhookFixture, type WebhookFixture } from "../support/webhookHandler";
import { sampleBody, SIGNATURE_HEADERS, signDelivery } from "../support/webhookSenders";

const REGION = "eu-north-1";

const EXPECTED_TYPE: Record<WebhookScheme, string> = {
  standard: "invoice.paid",
  github: "pull_request.opened",
  stripe: "payment_intent.succeeded",
};

describe("POST /webhooks/{source} (webhook handler against dynalite)", () => {
  const suite = useDynalite();
  let fx: WebhookFixture;
  beforeEach(async () => {
    fx = await webhookFixture(suite);
  });

  const sign = (scheme: WebhookScheme, options: { body?: string; secret?: string; timestampSeconds?: number; deliveryId?: string; githubEvent?: string } = {}) =>
    signDelivery(scheme, {
      secret: fx.secrets[fx.sourceFor(scheme)]![0]!,
      body: sampleBody(scheme),
      ...(scheme === "github" ? { githubEvent: "pull_request" } : {}),
      ...options,
    });

  for (const scheme of WEBHOOK_SCHEMES) {
    describe(`${scheme} scheme`, () => {
      it("stores a delivery its sender's library signed: 201, the sender's event type, the payload exactly as sent, the source named", async () => {
        const delivery = await sign(scheme);
        const event = webhookEvent(fx.sourceFor(scheme), delivery);
        const response = await fx.handler(event);
        expect(response.statusCode, response.body).to.equal(201);
        const body = jsonBody<{ event_id: string; status: string }>(response);
        expect(body.event_id).to.match(EVENT_ID_PATTERN);
        expect(body.status).to.equal("pending");
        const [item, ...rest] = await fx.items();
        expect(rest).to.have.length(0);
        expect(item).to.include({ event_id: body.event_id, event_type: EXPECTED_TYPE[scheme], request_id: event.requestContext.requestId });
        expect(item!.payload).to.deep.equal(JSON.parse(delivery.body));
        const deliveryId = scheme === "standard" ? delivery.headers["webhook-id"] : scheme === "github" ? delivery.headers["x-github-delivery"] : JSON.parse(delivery.body).id;
        expect(item!.source).to.deep.equal({ webhook: fx.sourceFor(scheme), delivery_id: deliveryId });
        expect(item!.idempotency_key).to.equal(deliveryId);
      });

      it("verifies a body API Gateway handed over base64-encoded, over its decoded bytes", async () => {
        const response = await fx.handler(webhookEvent(fx.sourceFor(scheme), await sign(scheme), { base64: true }));
        expect(response.statusCode, response.body).to.equal(201);
        expect(await fx.items()).to.have.length(1);
      });

      it("answers a redelivery of the same delivery 200 duplicate and stores one item", async () => {
        const body = sampleBody(scheme);
        const first = await sign(scheme, { body, deliveryId: "delivery-42" });
        const created = await fx.handler(webhookEvent(fx.sourceFor(scheme), first));
        expect(created.statusCode, created.body).to.equal(201);
        // A sender's retry is signed anew (a later timestamp for Standard Webhooks and Stripe).
        const again = await sign(scheme, { body, deliveryId: "delivery-42", timestampSeconds: Math.floor(Date.now() / 1000) + 5 });
        const repeated = await fx.handler(webhookEvent(fx.sourceFor(scheme), again));
        expect(repeated.statusCode, repeated.body).to.equal(200);
        expect(jsonBody(repeated)).to.include({ duplicate: true, event_id: jsonBody(created).event_id });
        expect(await fx.items()).to.have.length(1);
      });

      const rejections: [string, string, () => Promise<{ headers: Record<string, string>; body: string }>][] = [
        ["a tampered body", "invalid_signature", async () => {
          const d = await sign(scheme);
          return { ...d, body: d.body.replace(/"/, ' "') };
        }],
        ["a wrong secret", "invalid_signature", () => sign(scheme, { secret: generateSecret(scheme) })],
        ...SIGNATURE_HEADERS[scheme].map((name): [string, string, () => Promise<{ headers: Record<string, string>; body: string }>] => [
          `a missing ${name} header`,
          "missing_signature_headers",
          async () => {
            const d = await sign(scheme);
            return { ...d, headers: Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== name)) };
          },
        ]),
        ...(scheme === "github"
          ? []
          : [["an old timestamp", "timestamp_out_of_tolerance", () => sign(scheme, { timestampSeconds: Math.floor(Date.now() / 1000) - 301 })] as [string, string, () => Promise<{ headers: Record<string, string>; body: string }>]]),
      ];
      for (const [what, code, make] of rejections) {
        it(`rejects ${what} with 401 ${code} and writes nothing`, async () => {
          const event = webhookEvent(fx.sourceFor(scheme), await make());
          const body = expectProblem(await fx.handler(event), event, 401, code);
          expect(body).not.to.have.property("detail");
          expect(body).not.to.have.property("errors");
          expect(await fx.items()).to.have.length(0);
        });
      }

      it("accepts the previous secret too while a rotation is under way", async () => {
        const source = fx.sourceFor(scheme);
        const old = fx.secrets[source]![0]!;
        fx.secrets[source] = [generateSecret(scheme), old];
        expect((await fx.handler(webhookEvent(source, await sign(scheme, { secret: old })))).statusCode).to.equal(201);
        expect((await fx.handler(webhookEvent(source, await sign(scheme, { secret: fx.secrets[source]![0]! })))).statusCode).to.equal(201);
      });
    });
  }

  describe("rejections before and after verification", () => {
    it("answers an unknown source 401 unknown_source without reading any secret", async () => {
      const event = webhookEvent("nobody", await sign("github"));
      expectProblem(await fx.handler(event), event, 401, "unknown_source");
      expect(fx.reads).to.deep.equal({});
      expect(await fx.items()).to.have.length(0);
    });

    it("answers a body over maxEventBytes 413 before verifying, and writes nothing", async () => {
      const small = await webhookFixture(suite, { maxEventBytes: 1024 });
      const body = JSON.stringify({ type: "big", data: "x".repeat(2000) });
      const delivery = await signDelivery("standard", { secret: small.secrets.acme![0]!, body });
      const event = webhookEvent("acme", delivery);
      expectProblem(await small.handler(event), event, 413, "payload_too_large");
      expect(await small.items()).to.have.length(0);
    });

    const verifiedButUnstorable: [string, string, number, string, string | undefined][] = [
      ["invalid JSON", "{\"type\": ", 400, "invalid_json", undefined],
      ["a JSON array", "[1,2]", 400, "validation_failed", ""],
      ["a duplicate key", '{"type":"a.b","type":"c.d"}', 400, "duplicate_key", "/type"],
      ["a __proto__ key", '{"__proto__":{"admin":true}}', 400, "forbidden_key", "/__proto__"],
    ];
    for (const [what, body, status, code, pointer] of verifiedButUnstorable) {
      it(`answers verified ${what} with the ${status} ${code} of POST /events, and writes nothing`, async () => {
        const event = webhookEvent("acme", await sign("standard", { body }));
        const problem = expectProblem(await fx.handler(event), event, status, code);
        if (pointer !== undefined) expect(problem.errors?.[0]?.pointer).to.equal(pointer);
        expect(await fx.items()).to.have.length(0);
      });
    }

    it("answers a verified delivery that is not application/json 415", async () => {
      const delivery = await sign("github");
      const event = webhookEvent("github", { ...delivery, headers: { ...delivery.headers, "content-type": "application/x-www-form-urlencoded" } });
      expectProblem(await fx.handler(event), event, 415, "unsupported_media_type");
      expect(await fx.items()).to.have.length(0);
    });

    it("reads no secret for a delivery without its signature headers or with a stale timestamp (401 first)", async () => {
      for (const [source, scheme] of [["acme", "standard"], ["github", "github"], ["payments", "stripe"]] as const) {
        const delivery = await sign(scheme);
        const unsigned = { ...delivery, headers: { "content-type": "application/json" } };
        const event = webhookEvent(source, unsigned);
        expectProblem(await fx.handler(event), event, 401, "missing_signature_headers");
      }
      const stale = webhookEvent("acme", await signDelivery("standard", { secret: fx.secrets.acme![0]!, body: '{"type":"t"}', timestampSeconds: Math.floor(Date.now() / 1000) - 3_600 }));
      expectProblem(await fx.handler(stale), stale, 401, "timestamp_out_of_tolerance");
      expect(fx.reads).to.deep.equal({});
      // A signed one is read as before.
      await fx.handler(webhookEvent("acme", await sign("standard")));
      expect(fx.reads).to.deep.equal({ acme: 1 });
    });

    it("answers 503 when the secret parameter holds an empty or weak secret, never verifying with it (whsec_A is a zero-byte key)", async () => {
      const body = '{"type":"forged"}';
      const nowSeconds = Math.floor(Date.now() / 1000);
      const emptyKeySignature = createHmac("sha256", Buffer.alloc(0)).update(`msg_1.${nowSeconds}.${body}`).digest("base64");
      const forged = { body, headers: { "content-type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": String(nowSeconds), "webhook-signature": `v1,${emptyKeySignature}` } };
      for (const value of ["", '""', "[]", '[""]', '["whsec_A"]', '["whsec_"]']) {
        fx.parameters.acme = value;
        const event = webhookEvent("acme", forged);
        const response = await fx.handler(event);
        expectProblem(response, event, 503, "secrets_unavailable");
        expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
      }
      fx.parameters.github = '["short"]';
      const github = webhookEvent("github", await signDelivery("github", { secret: "short", body: '{"zen":"x"}' }));
      expectProblem(await fx.handler(github), github, 503, "secrets_unavailable");
      expect(await fx.items()).to.have.length(0);
      expect(suite.logs.raw.join("\n")).to.not.include("whsec_A");
    });

    it("answers 503 with Retry-After when the secrets cannot be read, and writes nothing", async () => {
      fx.unavailable.add("payments");
      const event = webhookEvent("payments", await sign("stripe"));
      const response = await fx.handler(event);
      expectProblem(response, event, 503, "secrets_unavailable");
      expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
      expect(await fx.items()).to.have.length(0);
    });
  });

  describe("event type", () => {
    it("GitHub: X-GitHub-Event alone when the payload has no action", async () => {
      await fx.handler(webhookEvent("github", await sign("github", { githubEvent: "push", body: '{"ref":"refs/heads/main"}' })));
      expect((await fx.items())[0]).to.include({ event_type: "push" });
    });

    it("Standard Webhooks without a payload type: webhook.<source>", async () => {
      await fx.handler(webhookEvent("acme", await sign("standard", { body: '{"data":{"a":1}}' })));
      expect((await fx.items())[0]).to.include({ event_type: "webhook.acme" });
    });

    it("a sender type that breaks the event_type rules becomes webhook.<source>, and the payload keeps it", async () => {
      const body = JSON.stringify({ id: "evt_odd", type: "no spaces allowed", data: {} });
      await fx.handler(webhookEvent("payments", await sign("stripe", { body })));
      const [item] = await fx.items();
      expect(item).to.include({ event_type: "webhook.payments" });
      expect(item!.payload).to.deep.include({ type: "no spaces allowed" });
    });
  });

  describe("logs", () => {
    it("never contain a secret, a signature or the payload", async () => {
      const delivery = await sign("stripe");
      await fx.handler(webhookEvent("payments", delivery));
      const wrong = await sign("github", { secret: generateSecret("github") });
      await fx.handler(webhookEvent("github", wrong));
      const text = suite.logs.raw.join("\n");
      expect(suite.logs.withMessage("request")).to.have.length(2);
      for (const secret of Object.values(fx.secrets).flat()) expect(text).not.to.include(secret);
      expect(text).not.to.include(/v1=([0-9a-f]+)/.exec(delivery.headers["stripe-signature"]!)![1]);
      expect(text).not.to.include(wrong.headers["x-hub-signature-256"]!.slice(7));
      expect(text).not.to.include("pi_1");
      expect(suite.logs.lines.map((l) => l.rejected)).to.include("invalid_signature");
    });
  });
});

describe("POST /webhooks/{source} in queued mode (webhookWriter with a queue, against dynalite and the local SQS)", function () {
  this.timeout(30_000);
  const suite = useDynalite();
  let sqs: LocalSqs;
  let client: SQSClient;
  let queues = 0;
  before(async () => {
    sqs = await startLocalSqs({ port: 0, region: REGION });
    client = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
  });
  after(async () => {
    client.destroy();
    await sqs.close();
  });

  /** A fresh table and queue, the webhook handler in queued mode, and a processor run as Lambda's event source mapping runs it. */
  async function setup(options: { sqsEndpoint?: string } = {}) {
    const name = `webhook-ingest-${++queues}`;
    sqs.store.createQueue(name, { VisibilityTimeout: 60 });
    const queueUrl = sqs.queueUrl(name);
    const senderClient = options.sqsEndpoint ? createSqsClient({ endpoint: options.sqsEndpoint, region: REGION, credentials: TEST_CREDENTIALS }) : client;
    const fx = await webhookFixture(suite, { queue: new QueueSender(senderClient, queueUrl) });
    const processor = createQueueProcessor({ repository: new EventRepository(suite.dynamo.doc, fx.table), sqs: client, queueUrl, statusIndexShards: 8, maxEventBytes: 65_536 });
    const processQueue = async () => {
      const messages = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }))).Messages ?? [];
      const records = messages.map((m) => sqsRecord(m, sqs.store.arnOf(name), REGION));
      const response = await processor({ Records: records }, { functionName: "processor", awsRequestId: "t", getRemainingTimeInMillis: () => 30_000 } as unknown as Context);
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const done = messages.filter((m) => !failed.has(m.MessageId!));
      if (done.length > 0) await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      return { received: messages.length, failed: failed.size };
    };
    const depth = () => sqs.store.counts(name);
    const body = sampleBody("github");
    const deliveryEvent = async (deliveryId: string) =>
      webhookEvent("github", await signDelivery("github", { secret: fx.secrets.github![0]!, body, deliveryId, githubEvent: "pull_request" }));
    const deliver = async (deliveryId: string) => fx.handler(await deliveryEvent(deliveryId));
    return { fx, processQueue, depth, deliver, deliveryEvent };
  }

  it("answers a signed GitHub delivery 202 status queued once SQS holds it; the processor then stores it once under the webhook source", async () => {
    const s = await setup();
    const response = await s.deliver("d-queued-1");
    expect(response.statusCode, response.body).to.equal(202);
    const body = jsonBody<{ event_id: string; status: string }>(response);
    expect(body.status).to.equal("queued");
    expect(response.headers.location).to.equal(`/events/${body.event_id}`);
    expect(await s.fx.items()).to.have.length(0);
    expect(s.depth()).to.deep.include({ visible: 1 });

    expect(await s.processQueue()).to.deep.equal({ received: 1, failed: 0 });
    const items = await s.fx.items();
    expect(items).to.have.length(1);
    expect(items[0]).to.deep.include({ event_id: body.event_id, event_type: "pull_request.opened", status: "pending", source: { webhook: "github", delivery_id: "d-queued-1" } });
  });

  it("answers a redelivery after storage 200 duplicate with the stored event, and queues nothing", async () => {
    const s = await setup();
    const first = jsonBody<{ event_id: string }>(await s.deliver("d-queued-2"));
    await s.processQueue();
    const again = await s.deliver("d-queued-2");
    expect(again.statusCode, again.body).to.equal(200);
    expect(jsonBody(again)).to.include({ duplicate: true, event_id: first.event_id, status: "pending" });
    expect(s.depth()).to.deep.include({ visible: 0, notVisible: 0 });
    expect(await s.fx.items()).to.have.length(1);
  });

  it("queues a redelivery that arrives before the first is stored (202 again), and the processor stores one item", async () => {
    const s = await setup();
    const first = await s.deliver("d-queued-3");
    const second = await s.deliver("d-queued-3");
    expect([first.statusCode, second.statusCode]).to.deep.equal([202, 202]);
    expect(jsonBody<{ event_id: string }>(second).event_id).to.equal(jsonBody<{ event_id: string }>(first).event_id);
    expect(await s.processQueue()).to.deep.equal({ received: 2, failed: 0 });
    expect(await s.fx.items()).to.have.length(1);
  });

  it("answers 503 queue_unavailable with Retry-After when SQS cannot be reached, and stores nothing", async () => {
    const s = await setup({ sqsEndpoint: await closedEndpoint() });
    const event = await s.deliveryEvent("d-queued-4");
    const response = await s.fx.handler(event);
    expectProblem(response, event, 503, "queue_unavailable");
    expect(response.headers["retry-after"]).to.equal(String(RETRY_AFTER_SECONDS));
    expect(await s.fx.items()).to.have.length(0);
  });
});
