/**
 * The local console (`/_console`) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): events appear as they are posted, a badly signed webhook shows its refusal
 * and the headers that were checked, a poisoned queued message sits in the DLQ view and a
 * dead-lettered event is redriven from the console, a page on another origin cannot read the
 * console's data, and axe-core finds no serious accessibility violation. Each view is saved as a
 * screenshot under docs/console/.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";
import { runSubscriptionsCli } from "../../cli/subscriptions";
import { runWebhooksCli } from "../../cli/webhooks";
import type { EventRecord } from "../../handlers/lib/events/record";
import { decodeQueueMessage, encodeQueueMessage } from "../../handlers/lib/queue/queueMessage";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { signDelivery } from "../support/webhookSenders";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = path.resolve(__dirname, "../../docs/console");
/** The probe's flags: headless as root, and no background traffic to hosts this network refuses. */
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the local console (/_console) in headless Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let key: string;
  let page: Page;
  let sqs: SQSClient;
  let secret: string;
  let receiver: http.Server;
  let received = 0;
  const pageErrors: string[] = [];
  afterEach(() => expect(pageErrors.splice(0), "errors in the console's page").to.deep.equal([]));

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    const added = runWebhooksCli(["add", "acme", "--scheme", "standard", "--json"], { DATA_DIR: dataDir });
    expect(added.exitCode, added.stderr).to.equal(0);
    secret = (JSON.parse(added.stdout) as { secret: string }).secret;
    // Visibility 10 s: a stored event is never received twice while the processor works on it (with 1 s, a slow
    // moment sent stored events to the DLQ after two receives); a poison message is made visible at once anyway.
    // A subscriber for order.* that answers 204: the console shows each event's delivery attempts.
    receiver = http.createServer((req, res) => req.resume().on("end", () => (received++, res.writeHead(204).end())));
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const subscribed = runSubscriptionsCli(["add", "orders", "--url", `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, "--filter", "order.*"], { DATA_DIR: dataDir });
    expect(subscribed.exitCode, subscribed.stderr).to.equal(0);
    stack = await startTestStack(dataDir, { sqsPort: 0, settings: { ingestMode: "queued", queueMaxReceiveCount: 2 }, queueVisibilitySeconds: 10 });
    key = stack.createdApiKey!;
    sqs = new SQSClient({ endpoint: stack.queue!.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // bypassCSP only lets the test inject axe-core; the console's own scripts obey its CSP.
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true })).newPage();
    page.on("dialog", (dialog) => void dialog.accept());
    page.on("pageerror", (error) => pageErrors.push(error.message));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    sqs?.destroy();
    await stack?.close();
    receiver?.close();
    logs?.restore();
  });

  it("is announced on the stack and serves its page with a per-start token and no framing", async () => {
    expect(stack.consoleUrl).to.equal(`${stack.url}/_console`);
    const res = await fetch(stack.consoleUrl);
    expect(res.status).to.equal(200);
    expect(res.headers.get("x-frame-options")).to.equal("DENY");
    expect(res.headers.get("content-security-policy")).to.include("default-src 'self'");
    const html = await res.text();
    expect(html).to.match(/<meta name="console-token" content="[A-Za-z0-9_-]{32}">/);
    expect(html).not.to.include(key);
  });

  it("shows events as they are stored, and their detail with the payload's exact digits", async () => {
    await page.goto(stack.consoleUrl);
    // Raw text: JSON.stringify would round the number before it left the test.
    const posted = await fetch(`${stack.url}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: '{"event_type":"order.created","payload":{"total":12345678901234567890,"note":"big"}}',
    });
    expect(posted.status).to.equal(202);
    const eventId = ((await posted.json()) as { event_id: string }).event_id;
    const row = page.locator(`#events-table tr[data-event-id="${eventId}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).to.include("order.created");
    await row.click();
    await page.locator("#detail-raw", { hasText: "12345678901234567890" }).waitFor();
    // Filters narrow the list without a reload.
    await page.fill("#f-type", "nothing.*");
    await page.locator(`#events-table tr[data-event-id="${eventId}"]`).waitFor({ state: "detached" });
    await page.fill("#f-type", "order.*");
    await row.waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, "events.png") });
  });

  it("shows an event's deliveries per subscription and attempt, and replays it from the console", async () => {
    const posted = await call(stack, "POST", "/events", { key, body: { event_type: "order.paid", payload: { n: 1 } } });
    const eventId = posted.json<{ event_id: string }>().event_id;
    await eventually("the delivery", () => call(stack, "GET", `/events/${eventId}`, { key }), (r) => r.status === 200 && r.json<{ status: string }>().status === "delivered", 30_000);
    await page.goto(stack.consoleUrl);
    await page.locator(`#events-table tr[data-event-id="${eventId}"]`).click();
    const state = page.locator('#subscriptions-table tr[data-subscription="orders"]');
    await state.locator("td", { hasText: "delivered" }).waitFor({ timeout: 15_000 });
    expect(await page.locator("#attempts-table tbody tr").count()).to.equal(1);
    expect(await page.locator("#attempts-table tbody").textContent()).to.include("204");
    await page.screenshot({ path: path.join(SCREENSHOTS, "deliveries.png") });
    const before = received;
    await page.click("#detail-replay"); // the confirm dialog is accepted
    await eventually("the replayed delivery", async () => received, (n) => n > before, 30_000);
    await eventually("status replayed", () => call(stack, "GET", `/events/${eventId}`, { key }), (r) => r.json<{ status: string }>().status === "replayed", 30_000);
    await page.locator("#attempts-table tbody tr").nth(1).waitFor({ timeout: 15_000 });
  });

  it("lists the catalogue's declared types with their schemas", async () => {
    await page.goto(`${stack.consoleUrl}#catalog`);
    const type = page.locator('#catalog-body details[data-event-type="order.created"]');
    await type.waitFor({ timeout: 15_000 });
    await type.locator("summary").click();
    expect(await type.textContent()).to.include("Payload schema").and.include('"order_id"');
  });

  it("acks from the inbox through the API (status becomes delivered)", async () => {
    const posted = await call(stack, "POST", "/events", { key, body: { event_type: "inbox.item", payload: {} } });
    const eventId = posted.json<{ event_id: string }>().event_id;
    await page.goto(`${stack.consoleUrl}#inbox`);
    const row = page.locator(`#inbox-table tr[data-event-id="${eventId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, "inbox.png") });
    await row.getByRole("button", { name: `Ack ${eventId}` }).click();
    await eventually("the ack", () => call(stack, "GET", `/events/${eventId}`, { key }), (r) => r.json<{ status: string }>().status === "delivered");
    await row.waitFor({ state: "detached" });
  });

  it("shows a badly signed webhook's refusal with its reason and the headers checked, never the secret", async () => {
    const good = await signDelivery("standard", { secret, body: JSON.stringify({ type: "invoice.paid", data: { id: 1 } }) });
    const forged = { ...good.headers, "webhook-signature": "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiB0aGlydHkgdHdvIGJ5dGVzISE=" };
    const refused = await fetch(`${stack.url}/webhooks/acme`, { method: "POST", headers: forged, body: good.body });
    expect(refused.status).to.equal(401);
    await page.goto(`${stack.consoleUrl}#webhooks`);
    const cell = page.locator("#webhooks-table td", { hasText: "invalid_signature" });
    await cell.waitFor({ timeout: 15_000 });
    const table = (await page.locator("#webhooks-table").textContent())!;
    expect(table).to.include("webhook-signature: v1,Zm9yZ2Vk");
    expect(table).not.to.include(secret);
    expect(table).not.to.include(secret.replace(/^whsec_/, ""));
    await page.screenshot({ path: path.join(SCREENSHOTS, "webhooks.png") });
  });

  it("shows a poisoned message in the DLQ, and redrives a dead-lettered event from the console", async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queue!.queueUrl, MessageBody: '{"v":1,"record":"poison"}' }));
    await page.goto(`${stack.consoleUrl}#queue`);
    await page.locator("#dlq-table tbody tr td", { hasText: "poison" }).first().waitFor({ timeout: 45_000 });
    await eventually("the DLQ count 1", () => page.locator("#q-dlq").textContent(), (t) => t === "1", 15_000);

    // A valid event that ran out of receives (as while storage was down) waits in the DLQ too.
    await stack.queue!.pauseProcessor();
    await call(stack, "POST", "/events", { key, body: { event_type: "redrive.me", payload: { back: true } } });
    const [message] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queue!.queueUrl, VisibilityTimeout: 0 }))).Messages!;
    const decoded = decodeQueueMessage(message!.Body!, { ...stack.settings, nowMs: Date.now() }) as { ok: true; record: EventRecord };
    await sqs.send(new PurgeQueueCommand({ QueueUrl: stack.queue!.queueUrl }));
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queue!.deadLetterQueueUrl, MessageBody: encodeQueueMessage(decoded.record) }));
    stack.queue!.resumeProcessor();
    await eventually("the DLQ count 2", () => page.locator("#q-dlq").textContent(), (t) => t === "2", 45_000);
    await page.screenshot({ path: path.join(SCREENSHOTS, "queue.png") });

    await page.click("#redrive-queue"); // the confirm dialog is accepted
    await page.locator("#status", { hasText: "moved" }).waitFor({ timeout: 45_000 });
    await eventually("the redriven event", () => call(stack, "GET", `/events/${decoded.record.event_id}`, { key }), (r) => r.status === 200);
  });

  it("answers its data only to its own page: another origin's fetch and a tokenless request get nothing", async () => {
    const direct = await fetch(`${stack.url}/_console/api/state`);
    expect(direct.status).to.equal(403);
    const crossSite = await fetch(`${stack.url}/_console/api/state`, { headers: { "sec-fetch-site": "cross-site", "x-console-token": "x".repeat(32) } });
    expect(crossSite.status).to.equal(403);

    const evil = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>elsewhere</title>"));
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    try {
      const other = await browser.newPage();
      await other.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const outcome = await other.evaluate(async (target) => {
        const results: string[] = [];
        for (const init of [{}, { headers: { "x-console-token": "guess" } }, { method: "POST" }]) {
          try {
            const r = await fetch(`${target}/_console/api/state`, init as RequestInit);
            results.push(`read ${r.status} ${await r.text()}`);
          } catch (error) {
            results.push(`blocked ${(error as Error).name}`);
          }
        }
        try {
          const r = await fetch(`${target}/_console`);
          results.push(`page ${r.status} ${(await r.text()).slice(0, 40)}`);
        } catch (error) {
          results.push(`blocked ${(error as Error).name}`);
        }
        return results;
      }, stack.url);
      await other.close();
      expect(outcome).to.have.length(4);
      for (const result of outcome) expect(result, result).to.match(/^blocked/);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it("passes axe-core with no serious or critical violations on every view", async () => {
    const axe = require.resolve("axe-core/axe.min.js");
    const problems: string[] = [];
    for (const view of ["events", "inbox", "queue", "pipeline", "webhooks", "catalog"]) {
      await page.goto(`${stack.consoleUrl}#${view}`);
      await page.locator("#status", { hasText: /live|:/ }).waitFor();
      await page.addScriptTag({ path: axe });
      const violations = await page.evaluate(async () => {
        const result = await (globalThis as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
      });
      for (const v of violations) if (v.impact === "serious" || v.impact === "critical") problems.push(`${view}: ${v.id} (${v.impact}, ${v.nodes} nodes)`);
      if (view === "pipeline" || view === "catalog") await page.screenshot({ path: path.join(SCREENSHOTS, `${view}.png`) });
    }
    expect(problems).to.deep.equal([]);
  });
});
