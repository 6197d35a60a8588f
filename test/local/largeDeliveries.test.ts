/**
 * Large events leave as they came (issue 22: "A 5 MB GitHub-style delivery is accepted, stored once,
 * read back byte for byte, and forwarded and delivered as documented"): on the local stack, GitHub's
 * pull_request.opened (stored compressed) and a 5 MB GitHub-style delivery (claim-checked to the
 * local S3), each signed by @octokit/webhooks-methods, are pushed to a subscriber whose receiver
 * verifies them with the `standardwebhooks` library; the body it gets is, byte for byte, what
 * GET /events/{id} returns (README "Deliver events": the body is the event as GET returns it),
 * payload digits included.
 */
import * as fs from "node:fs";
import { expect } from "chai";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { runSubscriptionsCli } from "../../cli/subscriptions";
import { runWebhooksCli } from "../../cli/webhooks";
import { generateSecret } from "../../handlers/lib/webhooks/signatures";
import type { LocalStack } from "../../local/stack";
import { githubStylePayload, pullRequestOpened } from "../../cost/githubPayloads";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { startReceiver, type TestReceiver } from "../support/receiver";
import { signDelivery } from "../support/webhookSenders";

const FIVE_MB = 5 * 1024 * 1024 - 4096;

describe("large events delivered to a subscriber on the local stack (HTTP)", function () {
  this.timeout(240_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let receiver: TestReceiver;
  const secret = generateSecret("github");

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    expect(runWebhooksCli(["add", "gh", "--scheme", "github", "--secret", secret], { DATA_DIR: dataDir }).exitCode).to.equal(0);
    const added = runSubscriptionsCli(["add", "big", "--url", "http://127.0.0.1:9/placeholder", "--json"], { DATA_DIR: dataDir });
    expect(added.exitCode, added.stderr).to.equal(0);
    receiver = await startReceiver((JSON.parse(added.stdout) as { secret: string }).secret);
    expect(runSubscriptionsCli(["add", "big", "--url", receiver.url], { DATA_DIR: dataDir }).exitCode).to.equal(0);
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { maxWebhookBytes: 5 * 1024 * 1024, deliveryScheduleScale: 0.0001 } });
  });
  after(async () => {
    await stack?.close();
    await receiver?.close();
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const storedItem = async (eventId: string) => {
    const doc = localDocumentClient(stack);
    const { Items } = await doc.send(new ScanCommand({ TableName: stack.eventsTable, ProjectionExpression: "event_id, storage_format, payload_object" }));
    doc.destroy();
    return (Items ?? []).find((i) => i.event_id === eventId)!;
  };

  async function arrival(eventId: string, deadlineMs = 120_000) {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const found = receiver.accepted().find((d) => d.eventId === eventId);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no delivery of ${eventId} within ${deadlineMs} ms (${receiver.received.length} requests so far)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  for (const [name, text, form] of [
    ["GitHub's pull_request.opened (stored compressed)", pullRequestOpened(), "compressed"],
    ["a 5 MB GitHub-style delivery (claim-checked to S3)", githubStylePayload(FIVE_MB), "claim-checked"],
  ] as const) {
    it(`pushes ${name} with the body GET /events/{id} returns, byte for byte, verified by standardwebhooks`, async () => {
      const delivery = await signDelivery("github", { secret, body: text, deliveryId: `big-${text.length}`, githubEvent: "pull_request" });
      const created = await call(stack, "POST", "/webhooks/gh", { body: delivery.body, headers: delivery.headers });
      expect(created.status, created.text.slice(0, 300)).to.equal(201);
      const eventId = created.json<{ event_id: string }>().event_id;
      const item = await storedItem(eventId);
      expect(item.storage_format).to.equal(2);
      if (form === "claim-checked") expect(item.payload_object, "claim-checked").to.be.a("string");
      else expect(item).not.to.have.property("payload_object");

      const received = await arrival(eventId);
      expect(received.verified, "verified with the subscription's secret").to.equal(true);
      const read = await call(stack, "GET", `/events/${eventId}`, { key: stack.createdApiKey! });
      expect(read.status).to.equal(200);
      // The delivery's status fields move after the POST; everything else is the same bytes.
      const withoutStatus = (body: string) => body.replace(/"status":"[a-z]+"/, "").replace(/"delivery_attempts":\d+/, "").replace(/"delivered_at":(null|"[^"]*")/, "");
      expect(received.raw.length).to.be.greaterThan(text.length);
      expect(withoutStatus(received.raw) === withoutStatus(read.text), "the pushed body is GET's, byte for byte").to.equal(true);
      expect(received.raw.includes(`"payload":${text}`), "the payload as the sender sent it, every digit").to.equal(true);
    });
  }
});
