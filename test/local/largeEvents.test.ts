/**
 * Large events on the local stack over HTTP (ADR 0035): GitHub's real pull_request.opened example
 * and a GitHub-style 1 MB delivery, signed by @octokit/webhooks-methods, go through the webhook
 * route, are stored compressed or claim-checked to the local S3, and come back byte for byte from
 * GET /events/{id} and GET /inbox; 2 MB is over the default limit (413); the running stack records
 * its S3 endpoint.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { runWebhooksCli } from "../../cli/webhooks";
import { generateSecret } from "../../handlers/lib/webhooks/signatures";
import { LOCAL_STACK_FILE, type LocalStack } from "../../local/stack";
import { githubStylePayload, pullRequestOpened } from "../../cost/githubPayloads";
import { call, captureHandlerLogs, localDocumentClient, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { signDelivery } from "../support/webhookSenders";

describe("large events on the local stack (HTTP)", function () {
  this.timeout(120_000);
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  const secret = generateSecret("github");

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    const added = runWebhooksCli(["add", "gh", "--scheme", "github", "--secret", secret, "--json"], { DATA_DIR: dataDir });
    expect(added.exitCode, added.stderr).to.equal(0);
    stack = await startTestStack(dataDir);
  });
  after(async () => {
    await stack?.close();
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const deliver = async (body: string, deliveryId: string) => {
    const delivery = await signDelivery("github", { secret, body, deliveryId, githubEvent: "pull_request" });
    return call(stack, "POST", "/webhooks/gh", { body: delivery.body, headers: delivery.headers });
  };
  const readBack = (eventId: string) => call(stack, "GET", `/events/${eventId}`, { key: stack.createdApiKey! });
  const containsPayload = (body: string, text: string) => body.includes(`"payload":${text},`) || body.includes(`"payload":${text}}`);
  const storedItem = async (eventId: string) => {
    const doc = localDocumentClient(stack);
    const { Items } = await doc.send(new ScanCommand({ TableName: stack.eventsTable }));
    doc.destroy();
    return (Items ?? []).find((i) => i.event_id === eventId)!;
  };

  it("stores GitHub's pull_request.opened example compressed and returns it byte for byte from GET /events/{id} and GET /inbox", async () => {
    const text = pullRequestOpened();
    const created = await deliver(text, "pr-opened-1");
    expect(created.status, created.text).to.equal(201);
    const eventId = created.json<{ event_id: string }>().event_id;
    expect(await storedItem(eventId)).to.include({ storage_format: 2 });
    expect(containsPayload((await readBack(eventId)).text, text)).to.equal(true);
    expect(containsPayload((await call(stack, "GET", "/inbox", { key: stack.createdApiKey! })).text, text)).to.equal(true);
  });

  it("accepts a 1 MB delivery by default, claim-checked to the local S3 and read back byte for byte, and refuses a 2 MB one with 413 (over maxWebhookBytes)", async () => {
    for (const [bytes, id] of [[1024 * 1024 - 64, "big-1"], [2 * 1024 * 1024, "big-2"]] as const) {
      const text = githubStylePayload(bytes);
      const created = await deliver(text, id);
      if (bytes > 1024 * 1024) {
        // Over the default 1 MiB: refused before anything is stored.
        expect(created.status, created.text).to.equal(413);
        continue;
      }
      expect(created.status, created.text).to.equal(201);
      const eventId = created.json<{ event_id: string }>().event_id;
      const item = await storedItem(eventId);
      expect(item.payload_object, "a 1 MB GitHub-style payload compresses past 64 KB: claim-checked").to.be.a("string");
      expect(containsPayload((await readBack(eventId)).text, text)).to.equal(true);
    }
  });

  it("records its S3 endpoint in local-stack.json, and keeps the objects under $DATA_DIR/s3", () => {
    const recorded = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_STACK_FILE), "utf8")) as { s3Endpoint: string };
    expect(recorded.s3Endpoint).to.equal(stack.s3.endpoint);
    expect(fs.readdirSync(path.join(dataDir, "s3", stack.s3.bucket)).some((f) => f.endsWith(".body"))).to.equal(true);
  });
});
