/**
 * Webhooks end to end on the local stack over HTTP: sources added with `npm run webhooks` (the same
 * function the command runs), secrets served by the local SSM endpoint under the deployed parameter
 * names, deliveries signed by the senders' own libraries for all three schemes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { expect } from "chai";
import { runWebhooksCli } from "../../cli/webhooks";
import { WEBHOOK_SCHEMES, generateSecret, type WebhookScheme } from "../../handlers/lib/webhooks/signatures";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from "../../local/stack";
import { localParameterName, WEBHOOK_SOURCES_FILE } from "../../local/webhookStore";
import { call, captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import { sampleBody, signDelivery, TEST_SOURCES } from "../support/webhookSenders";

describe("webhooks on the local stack (HTTP)", () => {
  let dataDir: string;
  let stack: LocalStack;
  let logs: HandlerLogs;
  let apiKey: string;
  const secrets: Record<string, string> = {};
  const sourceOf = (scheme: WebhookScheme) => TEST_SOURCES.find((s) => s.scheme === scheme)!.name;
  const cli = (...argv: string[]) => runWebhooksCli(argv, { DATA_DIR: dataDir });

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    for (const { name, scheme } of TEST_SOURCES) {
      // GitHub's secret is given, the others generated and printed once.
      const given = scheme === "github" ? ["--secret", generateSecret("github")] : [];
      const result = cli("add", name, "--scheme", scheme, ...given, "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      const added = JSON.parse(result.stdout) as { secret?: string };
      secrets[name] = added.secret ?? given[1]!;
    }
    stack = await startTestStack(dataDir);
    apiKey = stack.createdApiKey!;
  });
  after(async () => {
    await stack?.close();
    logs?.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const deliver = async (scheme: WebhookScheme, options: { body?: string; secret?: string; deliveryId?: string } = {}) => {
    const delivery = await signDelivery(scheme, { secret: secrets[sourceOf(scheme)]!, body: sampleBody(scheme), ...options });
    return call(stack, "POST", `/webhooks/${sourceOf(scheme)}`, { body: delivery.body, headers: delivery.headers });
  };

  for (const scheme of WEBHOOK_SCHEMES) {
    it(`${scheme}: stores a signed delivery (201), readable with GET /events/{id} under the webhook source, and a redelivery is 200 duplicate`, async () => {
      const body = sampleBody(scheme);
      const created = await deliver(scheme, { body, deliveryId: `d-${scheme}` });
      expect(created.status, created.text).to.equal(201);
      const eventId = created.json<{ event_id: string }>().event_id;
      const again = await deliver(scheme, { body, deliveryId: `d-${scheme}` });
      expect(again.status, again.text).to.equal(200);
      expect(again.json()).to.include({ duplicate: true, event_id: eventId });
      const read = await call(stack, "GET", `/events/${eventId}`, { key: apiKey });
      expect(read.status, read.text).to.equal(200);
      const stored = read.json<{ payload: unknown; source: { webhook: string } }>();
      expect(stored.payload).to.deep.equal(JSON.parse(body));
      expect(stored.source.webhook).to.equal(sourceOf(scheme));
    });

    it(`${scheme}: answers a delivery signed with another secret 401 invalid_signature as problem+json`, async () => {
      const response = await deliver(scheme, { secret: generateSecret(scheme) });
      expect(response.status).to.equal(401);
      expect(response.headers.get("content-type")).to.equal("application/problem+json");
      expect(response.json()).to.include({ code: "invalid_signature", status: 401 });
    });
  }

  it("answers an unknown source 401 unknown_source; no API key is asked for on this route", async () => {
    const delivery = await signDelivery("github", { secret: secrets.github!, body: "{}" });
    const response = await call(stack, "POST", "/webhooks/gitlab", { body: delivery.body, headers: delivery.headers });
    expect(response.status).to.equal(401);
    expect(response.json()).to.include({ code: "unknown_source" });
  });

  describe("npm run webhooks", () => {
    it("keeps the store at mode 0600 and never lists a secret", () => {
      expect(fs.statSync(path.join(dataDir, WEBHOOK_SOURCES_FILE)).mode & 0o777).to.equal(0o600);
      const listed = cli("list", "--json");
      expect(listed.exitCode).to.equal(0);
      expect(JSON.parse(listed.stdout).map((s: { name: string; scheme: string }) => `${s.name}=${s.scheme}`)).to.have.members(["acme=standard", "github=github", "payments=stripe"]);
      for (const secret of Object.values(secrets)) expect(listed.stdout + cli("list").stdout).not.to.include(secret);
    });

    it("rotates with --keep-previous: the local SSM endpoint then serves both secrets, new first, to a real SSM client", async () => {
      const next = generateSecret("standard");
      const result = cli("add", "acme", "--secret", next, "--keep-previous");
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/new and the previous secret/);
      const ssm = new SSMClient({ endpoint: stack.ssmEndpoint, region: LOCAL_REGION, credentials: stack.functionCredentials });
      try {
        const { Parameter } = await ssm.send(new GetParameterCommand({ Name: localParameterName("acme"), WithDecryption: true }));
        expect(Parameter?.Type).to.equal("SecureString");
        expect(JSON.parse(Parameter!.Value!)).to.deep.equal([next, secrets.acme]);
        const missing = await ssm.send(new GetParameterCommand({ Name: localParameterName("nobody"), WithDecryption: true })).catch((e: Error) => e);
        expect((missing as Error).name).to.equal("ParameterNotFound");
      } finally {
        ssm.destroy();
      }
    });

    it("keeps web pages away from the local SSM endpoint: a request with an Origin header gets 403 and no secret", async () => {
      const response = await fetch(stack.ssmEndpoint, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" },
        body: JSON.stringify({ Name: localParameterName("acme"), WithDecryption: true }),
      });
      expect(response.status).to.equal(403);
      const text = await response.text();
      for (const secret of Object.values(secrets)) expect(text).not.to.include(secret);
    });

    it("rejects a bad scheme or a secret the scheme cannot use, names the problem, and prints --help", () => {
      const badScheme = cli("add", "x", "--scheme", "gitlab");
      expect(badScheme.exitCode).to.equal(2);
      expect(badScheme.stderr).to.match(/unknown scheme gitlab; the schemes are standard, github, stripe/);
      const badSecret = cli("add", "y", "--scheme", "standard", "--secret", "not-whsec");
      expect(badSecret.exitCode).to.equal(2);
      expect(badSecret.stderr).to.match(/whsec_/);
      const help = cli("--help");
      expect(help.exitCode).to.equal(0);
      expect(help.stdout).to.match(/usage: npm run webhooks -- add NAME --scheme/);
    });

    it("removes a source", () => {
      expect(cli("add", "temp", "--scheme", "github").exitCode).to.equal(0);
      expect(cli("remove", "temp").exitCode).to.equal(0);
      expect(cli("remove", "temp").exitCode).to.equal(1);
      expect(JSON.parse(cli("list", "--json").stdout).map((s: { name: string }) => s.name)).not.to.include("temp");
    });
  });
});
