/**
 * Deliveries end to end on the local stack (issue 21, "Prove it"): subscriptions added with
 * `npm run subscriptions` (the function the command runs), events sent over HTTP and through a
 * signed webhook, real receivers on 127.0.0.1 that verify every delivery with the
 * `standardwebhooks` library. The retry schedule is compressed through the stack's settings
 * (deliveryScheduleScale), so all eight attempts take seconds; the per-attempt timeout is 6 s.
 */
import * as fs from "node:fs";
import { expect } from "chai";
import { runSubscriptionsCli } from "../../cli/subscriptions";
import { runReplayCli } from "../../cli/replay";
import { runWebhooksCli } from "../../cli/webhooks";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { eventually, startReceiver, type TestReceiver } from "../support/receiver";
import { sampleBody, signDelivery } from "../support/webhookSenders";

interface EventView { event_id: string; event_type: string; status: string; delivery_attempts: number; delivered_at: string | null; [k: string]: unknown }
interface DeliveriesView {
  status: string;
  delivery_attempts: number;
  subscriptions: { subscription: string; state: string; webhook_id: string; attempts: number; replays: number }[];
  attempts: { subscription: string; webhook_id: string; attempt: number; ok: boolean; status_code: number | null; error: string | null; response_body: string }[];
}

/** Subscriptions with their own event types, so each scenario sees only its own deliveries. */
const SUBSCRIPTIONS: Record<string, string[]> = {
  orders: ["order.*"],
  billing: ["invoice.paid"],
  flaky: ["flaky.*"],
  broken: ["broken.*"],
  slow: ["race.*"],
  fast: ["race.*"],
  moved: ["moved.*"],
};

async function addSubscriptions(cli: (...argv: string[]) => ReturnType<typeof runSubscriptionsCli>, names: Record<string, string[]>): Promise<Record<string, TestReceiver>> {
  const receivers: Record<string, TestReceiver> = {};
  for (const [name, filters] of Object.entries(names)) {
    const added = cli("add", name, "--url", "http://127.0.0.1:9/placeholder", ...filters.flatMap((f) => ["--filter", f]), "--json");
    expect(added.exitCode, added.stderr).to.equal(0);
    const receiver = await startReceiver((JSON.parse(added.stdout) as { secret: string }).secret);
    expect(cli("add", name, "--url", receiver.url).exitCode).to.equal(0);
    receivers[name] = receiver;
  }
  return receivers;
}

describe("deliveries on the local stack", function () {
  this.timeout(180_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let key: string;
  let receivers: Record<string, TestReceiver> = {};
  let elsewhere: TestReceiver;
  let webhookSecret: string;
  const cli = (...argv: string[]) => runSubscriptionsCli(argv, { DATA_DIR: dataDir });
  const post = async (eventType: string, payload: Record<string, unknown> = {}) => {
    const response = await call(stack, "POST", "/events", { key, body: { event_type: eventType, payload } });
    expect(response.status, response.text).to.equal(201);
    return response.json<{ event_id: string }>().event_id;
  };
  const postMany = async (eventType: string, count: number) => {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 100) {
      const events = Array.from({ length: Math.min(100, count - start) }, (_, i) => ({ event_type: eventType, payload: { n: start + i } }));
      const response = await call(stack, "POST", "/events/batch", { key, body: { events } });
      expect(response.status, response.text).to.equal(200);
      ids.push(...response.json<{ results: { event_id: string }[] }>().results.map((r) => r.event_id));
    }
    return ids;
  };
  const read = async (id: string) => (await call(stack, "GET", `/events/${id}`, { key })).json<EventView>();
  const deliveries = async (id: string) => (await call(stack, "GET", `/events/${id}/deliveries`, { key })).json<DeliveriesView>();
  const untilStatus = (id: string, status: string, timeoutMs = 60_000) =>
    eventually(`${id} ${status}`, async () => {
      const event = await read(id);
      return event.status === status ? event : undefined;
    }, timeoutMs);

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    receivers = await addSubscriptions(cli, SUBSCRIPTIONS);
    elsewhere = await startReceiver("whsec_" + Buffer.alloc(32, 1).toString("base64"));
    receivers.moved!.behaviour = () => ({ status: 302, headers: { location: elsewhere.url } });
    receivers.broken!.behaviour = () => ({ status: 500, body: "x".repeat(5000) });
    const added = runWebhooksCli(["add", "acme", "--scheme", "standard", "--json"], { DATA_DIR: dataDir });
    expect(added.exitCode, added.stderr).to.equal(0);
    webhookSecret = (JSON.parse(added.stdout) as { secret: string }).secret;
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { deliveryScheduleScale: 0.0001, deliveryTimeoutSeconds: 6 } });
    key = stack.createdApiKey!;
  });
  after(async () => {
    await stack?.close();
    await Promise.all([...Object.values(receivers), elsewhere].map((r) => r?.close()));
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("posts a stored event once, signed (verified with standardwebhooks) and as GET /events/{id} returns it; the event ends delivered with one attempt", async () => {
    const id = await post("order.created", { order_id: "o-1", total: 12.5 });
    const final = await untilStatus(id, "delivered");
    expect(final.delivery_attempts).to.equal(1);
    const got = receivers.orders!.received.filter((d) => d.eventId === id);
    expect(got).to.have.length(1);
    expect(got[0]!.verified).to.equal(true);
    const { status: _s, delivery_attempts: _a, delivered_at: _d, ...stored } = final;
    const { status, delivery_attempts, delivered_at, ...sent } = got[0]!.body as EventView;
    expect(sent).to.deep.equal(stored);
    expect({ status, delivery_attempts, delivered_at }).to.deep.equal({ status: "pending", delivery_attempts: 0, delivered_at: null });
  });

  it("gives two subscriptions with different filters exactly their events; an event no subscription matches stays pending", async () => {
    const orders = [await post("order.created"), await post("order.shipped"), await post("order.refunded")];
    const invoices = [await post("invoice.paid"), await post("invoice.paid")];
    const unmatched = await post("invoice.voided");
    for (const id of [...orders, ...invoices]) await untilStatus(id, "delivered");
    const idsOf = (r: TestReceiver) => new Set(r.accepted().map((d) => d.eventId));
    expect([...idsOf(receivers.billing!)].filter((id) => [...orders, ...invoices, unmatched].includes(id)).sort()).to.deep.equal([...invoices].sort());
    expect([...idsOf(receivers.orders!)].filter((id) => [...orders, ...invoices, unmatched].includes(id)).sort()).to.deep.equal([...orders].sort());
    expect((await read(unmatched)).status).to.equal("pending");
    expect((await deliveries(unmatched)).attempts).to.deep.equal([]);
  });

  it("delivers an event that came through a signed webhook", async () => {
    const body = sampleBody("standard");
    const delivery = await signDelivery("standard", { secret: webhookSecret, body });
    const response = await call(stack, "POST", "/webhooks/acme", { body: delivery.body, headers: delivery.headers });
    expect(response.status, response.text).to.equal(201);
    const id = response.json<{ event_id: string }>().event_id;
    await untilStatus(id, "delivered");
    const got = receivers.billing!.accepted().filter((d) => d.eventId === id);
    expect(got).to.have.length(1);
    expect(got[0]!.body.payload).to.deep.equal(JSON.parse(body));
  });

  // The issue asks for 500 events over a 30 s outage; with the schedule compressed to seconds an
  // outage that long would exhaust every attempt, so the receiver is down until 40 events have
  // failed (or the first one has failed three times), and 200 events keep this within a minute or
  // two on a shared two-core machine.
  it("with its receiver down while 200 events arrive, delivers every event exactly once per subscription once it is back, after more than one attempt for those that failed", async () => {
    let down = true;
    receivers.flaky!.behaviour = () => (down ? { status: 0, drop: true } : { status: 200 });
    const ids = await postMany("flaky.tick", 200);
    await eventually("failed first attempts", () => {
      const seen = new Map<string, number>();
      for (const d of receivers.flaky!.received) seen.set(d.eventId, (seen.get(d.eventId) ?? 0) + 1);
      return seen.size >= 40 || [...seen.values()].some((n) => n >= 3) ? true : undefined;
    }, 120_000, 50);
    down = false;
    const failedOnce = [...new Set(receivers.flaky!.received.map((d) => d.eventId))];
    await eventually("every event delivered", () => (new Set(receivers.flaky!.accepted().map((d) => d.eventId)).size >= ids.length ? true : undefined), 240_000, 250);
    const accepted = receivers.flaky!.accepted();
    const perEvent = new Map<string, number>();
    for (const d of accepted) perEvent.set(d.eventId, (perEvent.get(d.eventId) ?? 0) + 1);
    expect([...perEvent.keys()].sort()).to.deep.equal([...ids].sort());
    expect([...perEvent.values()].every((n) => n === 1), "each event accepted exactly once").to.equal(true);
    expect(accepted.every((d) => d.verified)).to.equal(true);
    expect(failedOnce.length).to.be.greaterThan(0);
    for (const id of failedOnce.slice(0, 10)) {
      const event = await untilStatus(id, "delivered");
      expect(event.delivery_attempts, id).to.be.greaterThan(1);
    }
  });

  it("gives a receiver that always answers 500 every attempt of the schedule with one webhook-id, ends failed; after a fix, npm run replay -- --status failed makes it replayed and delivered with a new webhook-id", async () => {
    const id = await post("broken.thing");
    const failed = await untilStatus(id, "failed");
    expect(failed.delivery_attempts).to.equal(8);
    const attempts = receivers.broken!.received.filter((d) => d.eventId === id);
    expect(attempts).to.have.length(8);
    expect(new Set(attempts.map((d) => d.webhookId)).size).to.equal(1);
    expect(attempts.every((d) => d.verified)).to.equal(true);
    const log = await deliveries(id);
    expect(log.attempts.map((a) => a.attempt)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(log.attempts.every((a) => a.status_code === 500 && !a.ok && a.response_body.length === 1024)).to.equal(true);
    expect(log.subscriptions).to.deep.include({ ...log.subscriptions[0]!, subscription: "broken", state: "failed", attempts: 8 });

    receivers.broken!.behaviour = () => ({ status: 200 });
    const replay = await runReplayCli(["--status", "failed", "--type", "broken.*", "--json"], { DATA_DIR: dataDir }, () => {});
    expect(replay.exitCode, replay.stderr + replay.stdout).to.equal(0);
    const report = JSON.parse(replay.stdout) as { selected: number; replayed: number };
    expect(report).to.include({ selected: 1, replayed: 1 });
    const replayed = await eventually("replayed and delivered", async () => {
      const event = await read(id);
      return event.status === "replayed" && event.delivered_at ? event : undefined;
    });
    expect(replayed.delivery_attempts).to.equal(9);
    const again = receivers.broken!.accepted().filter((d) => d.eventId === id);
    expect(again).to.have.length(1);
    expect(again[0]!.webhookId).to.not.equal(attempts[0]!.webhookId);
    const after = await deliveries(id);
    expect(after.attempts).to.have.length(9);
    expect(after.subscriptions[0]).to.include({ state: "delivered", replays: 1, webhook_id: again[0]!.webhookId });
  });

  it("does not let a receiver that answers after the timeout delay another subscription's deliveries of the same events", async () => {
    receivers.slow!.behaviour = () => ({ status: 200, delayMs: 60_000 });
    receivers.fast!.behaviour = () => ({ status: 204 });
    const ids = await postMany("race.lap", 40);
    await eventually("fast has every event", () => (new Set(receivers.fast!.accepted().map((d) => d.eventId)).size >= ids.length ? true : undefined), 60_000, 50);
    // Every fast delivery happened while the slow receiver's attempts were still open: none had to
    // wait for a slow attempt to time out.
    expect(receivers.slow!.abandoned).to.equal(0);
    expect(receivers.slow!.received.length).to.be.greaterThan(0);
    receivers.slow!.behaviour = () => ({ status: 204 });
  });

  it("follows no redirect: a 302 is a failed attempt and its Location is never requested", async () => {
    const id = await post("moved.away");
    const log = await eventually("a first attempt", async () => {
      const view = await deliveries(id);
      return view.attempts.length > 0 ? view : undefined;
    });
    expect(log.attempts[0]).to.include({ status_code: 302, ok: false });
    expect(elsewhere.received).to.deep.equal([]);
  });

  it("refuses subscription URLs that point at private or metadata addresses (and any https-less URL in a deployed stack's config)", () => {
    for (const url of ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/hooks", "http://[fd00::1]/hooks", "http://[::ffff:169.254.169.254]/x", "http://100.64.0.1/"]) {
      const result = cli("add", "evil", "--url", url);
      expect(result.exitCode, url).to.equal(1);
      expect(result.stderr, url).to.match(/public addresses only/);
    }
    expect(cli("list", "--json").stdout).to.not.include("evil");
  });
});

describe("deliveries on the local stack in queued mode", function () {
  this.timeout(120_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let receivers: Record<string, TestReceiver> = {};

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    receivers = await addSubscriptions((...argv) => runSubscriptionsCli(argv, { DATA_DIR: dataDir }), { all: [] });
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { ingestMode: "queued", deliveryScheduleScale: 0.0001 } });
  });
  after(async () => {
    await stack?.close();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("delivers an event accepted with 202 once the processor has stored it, never before", async () => {
    const response = await call(stack, "POST", "/events", { key: stack.createdApiKey!, body: { event_type: "queued.one", payload: { q: 1 } } });
    expect(response.status, response.text).to.equal(202);
    const id = response.json<{ event_id: string }>().event_id;
    const delivered = await eventually("delivered", () => (receivers.all!.accepted().some((d) => d.eventId === id) ? true : undefined));
    expect(delivered).to.equal(true);
    const got = receivers.all!.accepted().find((d) => d.eventId === id)!;
    expect(got.body).to.include({ event_id: id, event_type: "queued.one" });
    expect(got.body.created_at, "the body is the stored event").to.be.a("string");
  });
});
