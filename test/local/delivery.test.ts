/**
 * Deliveries end to end on the local stack: subscriptions added with `npm run subscriptions` (the
 * function the command runs), events sent over HTTP, real receivers on 127.0.0.1 that verify every
 * delivery with the `standardwebhooks` library.
 */
import * as fs from "node:fs";
import { expect } from "chai";
import { runSubscriptionsCli } from "../../cli/subscriptions";
import type { LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { eventually, startReceiver, type TestReceiver } from "../support/receiver";

interface EventView { event_id: string; status: string; delivery_attempts: number; delivered_at: string | null }

describe("deliveries on the local stack (direct mode)", function () {
  this.timeout(120_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let key: string;
  const receivers: Record<string, TestReceiver> = {};
  const cli = (...argv: string[]) => runSubscriptionsCli(argv, { DATA_DIR: dataDir });
  const add = async (name: string, filters: string[], behaviour?: TestReceiver["behaviour"]) => {
    const added = cli("add", name, "--url", "http://127.0.0.1:1/placeholder", ...filters.flatMap((f) => ["--filter", f]), "--json");
    expect(added.exitCode, added.stderr).to.equal(0);
    const secret = (JSON.parse(added.stdout) as { secret: string }).secret;
    const receiver = await startReceiver(secret, behaviour);
    expect(cli("add", name, "--url", receiver.url).exitCode).to.equal(0);
    receivers[name] = receiver;
  };
  const post = async (eventType: string, payload: Record<string, unknown> = {}) => {
    const response = await call(stack, "POST", "/events", { key, body: { event_type: eventType, payload } });
    expect(response.status, response.text).to.equal(201);
    return response.json<{ event_id: string }>().event_id;
  };
  const read = async (id: string) => (await call(stack, "GET", `/events/${id}`, { key })).json<EventView>();

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    await add("orders", ["order.*"]);
    await add("audit", []);
    stack = await startTestStack(dataDir, { sqsPort: 0 });
    key = stack.createdApiKey!;
  });
  after(async () => {
    await stack?.close();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("delivers a stored event, signed and verifiable, to every matching subscription, as GET /events/{id} returns it; the event ends delivered", async () => {
    const id = await post("order.created", { order_id: "o-1" });
    const final = await eventually("delivered", async () => {
      const event = await read(id);
      return event.status === "delivered" ? event : undefined;
    });
    expect(final.delivery_attempts).to.equal(2);
    for (const name of ["orders", "audit"]) {
      const got = receivers[name]!.received.filter((d) => d.eventId === id);
      expect(got, name).to.have.length(1);
      expect(got[0]!.verified, name).to.equal(true);
      expect(got[0]!.body).to.include({ event_id: id, event_type: "order.created" });
      expect(got[0]!.body.payload).to.deep.equal({ order_id: "o-1" });
    }
  });
});
