/**
 * The queued claim check on the local stack over HTTP (ADR 0043): with `ingestMode: queued` and
 * 5 MiB body limits, a 5 MB event through POST /events and a 5 MB GitHub-style delivery signed by
 * @octokit/webhooks-methods through the webhook route are answered 202; their payload objects are
 * written to the local S3 before the messages that name them, the processor bundle stores items
 * naming those same objects, and GET /events/{id} returns each payload byte for byte.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { expect } from "chai";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { runWebhooksCli } from "../../cli/webhooks";
import { generateSecret } from "../../handlers/lib/webhooks/signatures";
import type { LocalStack } from "../../local/stack";
import { githubStylePayload } from "../../cost/githubPayloads";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { signDelivery } from "../support/webhookSenders";

const MAX_BODY = 5 * 1024 * 1024;

describe("queued mode claims-check large events on the local stack (HTTP)", function () {
  this.timeout(180_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let key: string;
  const secret = generateSecret("github");

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    const added = runWebhooksCli(["add", "gh", "--scheme", "github", "--secret", secret, "--json"], { DATA_DIR: dataDir });
    expect(added.exitCode, added.stderr).to.equal(0);
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { ingestMode: "queued", maxEventBytes: MAX_BODY, maxWebhookBytes: MAX_BODY } });
    key = fs.readFileSync(stack.keyFile, "utf8").trim();
  });
  after(async () => {
    await stack?.close();
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const storedItem = async (eventId: string) => {
    const doc = localDocumentClient(stack);
    const { Items } = await doc.send(new ScanCommand({ TableName: stack.eventsTable, ConsistentRead: true }));
    doc.destroy();
    return (Items ?? []).find((i) => i.event_id === eventId);
  };
  /** Polls until the processor stored the event; bounded, never a timing assertion. */
  const eventuallyStored = async (eventId: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const item = await storedItem(eventId);
      if (item) return item;
      if (Date.now() > deadline) throw new Error(`${eventId} was not stored within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  /** The object files of the local S3 (named by the key's SHA-256). */
  const objectFile = (objectKey: string) => path.join(dataDir, "s3", stack.s3.bucket, `${createHash("sha256").update(objectKey).digest("hex")}.body`);
  const payloadIn = (body: string, text: string) => body.includes(`"payload":${text},`) || body.includes(`"payload":${text}}`);

  it("POST /events of 5 MB: 202, stored by the processor naming the object ingest wrote, read back byte for byte", async () => {
    const text = githubStylePayload(5_000_000);
    const posted = await call(stack, "POST", "/events", { key, body: `{"event_type":"large.queued","payload":${text}}` });
    expect(posted.status, posted.text.slice(0, 300)).to.equal(202);
    const { event_id: eventId } = posted.json<{ event_id: string }>();
    const item = await eventuallyStored(eventId);
    expect(item.payload_object).to.match(new RegExp(`^events/${eventId}/[0-9a-f]{32}\\.json\\.br$`));
    expect(fs.existsSync(objectFile(item.payload_object as string))).to.equal(true);
    const read = await call(stack, "GET", `/events/${eventId}`, { key });
    expect(read.status).to.equal(200);
    expect(payloadIn(read.text, text), "payload exactly as sent").to.equal(true);
  });

  it("a signed 5 MB GitHub-style delivery through the webhook route: 202, stored, read back byte for byte", async () => {
    const text = githubStylePayload(5_000_001);
    const delivery = await signDelivery("github", { secret, body: text, deliveryId: "queued-large-1", githubEvent: "pull_request" });
    const answered = await call(stack, "POST", "/webhooks/gh", { body: delivery.body, headers: delivery.headers });
    expect(answered.status, answered.text.slice(0, 300)).to.equal(202);
    const { event_id: eventId } = answered.json<{ event_id: string }>();
    const item = await eventuallyStored(eventId);
    expect(item.payload_object).to.be.a("string");
    expect(payloadIn((await call(stack, "GET", `/events/${eventId}`, { key })).text, text)).to.equal(true);
  });
});
