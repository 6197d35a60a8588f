/**
 * The delivery outlet's pure parts and its sender, without the stack: subscription config and its
 * errors, filters, blocked address ranges, Standard Webhooks signing checked by the
 * `standardwebhooks` verifier (rotation included), the retry schedule, and the SSRF-safe sender
 * against real HTTP servers on 127.0.0.1 (redirects, body cap, timeout, and DNS answers checked at
 * connect time).
 */
import * as dns from "node:dns";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { Webhook } from "standardwebhooks";
import { blockedAddressReason } from "../../handlers/lib/delivery/addresses";
import { parseDeliveryMessage } from "../../handlers/lib/delivery/message";
import { parseRetryAfter, retryDelaySeconds } from "../../handlers/lib/delivery/schedule";
import { guardedLookup, RefusedAddressError, sendDelivery } from "../../handlers/lib/delivery/sender";
import { signDelivery, webhookIdOf } from "../../handlers/lib/delivery/signing";
import {
  deliveryConfigFromEnv,
  deliveryEnvironment,
  matches,
  newSubscriptionSecret,
  parseSubscriptions,
  subscriptionSecretParameterName,
  subscriptionSecretProblem,
} from "../../handlers/lib/delivery/subscriptions";

describe("subscriptions config", () => {
  it("reads name=url|filter|… pairs", () => {
    expect(parseSubscriptions(" orders=https://a.example.com/hooks|order.*|invoice.paid , audit=https://b.example.com/in ")).to.deep.equal([
      { name: "orders", url: "https://a.example.com/hooks", filters: ["order.*", "invoice.paid"] },
      { name: "audit", url: "https://b.example.com/in", filters: [] },
    ]);
    expect(parseSubscriptions("")).to.deep.equal([]);
  });

  const refusals: [string, RegExp][] = [
    ["Orders=https://a.example.com/", /name "Orders" must match/],
    ["orders=http://a.example.com/", /must use https/],
    ["orders=https://user:pw@a.example.com/", /carries credentials/],
    ["orders=https://169.254.169.254/latest", /link-local.*metadata/],
    ["orders=https://10.1.2.3/", /private/],
    ["orders=https://127.0.0.1/", /loopback/],
    ["orders=https://[::1]/", /loopback/],
    ["orders=https://[fd12::1]/", /unique local/],
    ["orders=https://[fe80::1]/", /link-local/],
    ["orders=https://[::ffff:10.0.0.1]/", /IPv4-mapped/],
    ["orders=https://100.100.1.1/", /carrier-grade NAT/],
    ["orders=https://localhost/", /local or internal host/],
    ["orders=https://a.example.com/|bad filter", /filter "bad filter"/],
    ["orders=https://a.example.com/,orders=https://b.example.com/", /appears twice/],
    ["orders https://a.example.com/", /expected name=url/],
  ];
  for (const [spec, message] of refusals) {
    it(`refuses ${spec} with a message that says what to change`, () => {
      expect(() => parseSubscriptions(spec)).to.throw(message);
    });
  }

  it("lets the local stack use http://127.0.0.1 and localhost, never private ranges", () => {
    expect(parseSubscriptions("l=http://127.0.0.1:4000/h", { allowHttp: true })[0]!.url).to.equal("http://127.0.0.1:4000/h");
    expect(parseSubscriptions("l=http://localhost:4000/h", { allowHttp: true })).to.have.length(1);
    expect(() => parseSubscriptions("l=http://192.168.1.1/h", { allowHttp: true })).to.throw(/private/);
  });

  it("matches exact types, prefixes ending in *, and everything without filters", () => {
    const sub = { filters: ["order.*", "invoice.paid"] };
    expect(matches(sub, "order.created")).to.equal(true);
    expect(matches(sub, "invoice.paid")).to.equal(true);
    expect(matches(sub, "invoice.paid.late")).to.equal(false);
    expect(matches(sub, "orders.created")).to.equal(false);
    expect(matches({ filters: [] }, "anything")).to.equal(true);
  });

  it("names each secret's parameter /<project>/<stack>/subscriptions/<name>/secret and checks Standard Webhooks strength", () => {
    expect(subscriptionSecretParameterName("event-ingestion", "prod", "orders")).to.equal("/event-ingestion/prod/subscriptions/orders/secret");
    expect(subscriptionSecretProblem(newSubscriptionSecret())).to.equal(undefined);
    expect(subscriptionSecretProblem("secret")).to.match(/whsec_/);
    expect(subscriptionSecretProblem("whsec_" + Buffer.alloc(16).toString("base64"))).to.match(/at least 24/);
    expect(subscriptionSecretProblem("whsec_not base64!")).to.match(/base64/);
  });

  it("carries parameter names, never secrets, through the environment, and re-validates it", () => {
    const env = deliveryEnvironment({
      subscriptions: [{ name: "orders", url: "https://a.example.com/", filters: ["order.*"], queueUrl: "https://sqs/q", secretParameter: "/p/s/subscriptions/orders/secret" }],
      deliveriesTable: "t",
      maxAttempts: 5,
      timeoutSeconds: 10,
    });
    const config = deliveryConfigFromEnv(env);
    expect(config.maxAttempts).to.equal(5);
    expect(config.timeoutMs).to.equal(10_000);
    expect(config.subscriptions.get("orders")!.secretParameter).to.equal("/p/s/subscriptions/orders/secret");
    expect(config.allowLoopback).to.equal(false);
    const tampered = { ...env, SUBSCRIPTIONS: JSON.stringify([{ name: "x", url: "https://169.254.169.254/", filters: [], queueUrl: "q", secretParameter: "p" }]) };
    expect(() => deliveryConfigFromEnv(tampered)).to.throw(/invalid subscription/);
  });
});

describe("blocked addresses", () => {
  for (const address of ["127.0.0.1", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fc00::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "::"]) {
    it(`refuses ${address}`, () => expect(blockedAddressReason(address)).to.be.a("string"));
  }
  for (const address of ["93.184.216.34", "172.32.0.1", "8.8.8.8", "2606:4700::1111"]) {
    it(`allows ${address}`, () => expect(blockedAddressReason(address)).to.equal(undefined));
  }
});

describe("Standard Webhooks signing", () => {
  it("signs so the standardwebhooks library verifies, with either secret during a rotation", () => {
    const current = newSubscriptionSecret();
    const previous = newSubscriptionSecret();
    const body = JSON.stringify({ event_id: "evt_1", n: 1.5 });
    const headers = signDelivery({ webhookId: "msg_x", timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [current, previous] });
    expect(headers["webhook-signature"].split(" ")).to.have.length(2);
    expect(new Webhook(current).verify(body, { ...headers })).to.deep.equal(JSON.parse(body));
    expect(new Webhook(previous).verify(body, { ...headers })).to.deep.equal(JSON.parse(body));
    expect(() => new Webhook(newSubscriptionSecret()).verify(body, { ...headers })).to.throw(/No matching signature/);
    expect(() => new Webhook(current).verify(body + " ", { ...headers })).to.throw();
  });

  it("keeps one webhook-id per event, subscription and generation", () => {
    expect(webhookIdOf("evt_a", "orders", 0)).to.equal(webhookIdOf("evt_a", "orders", 0));
    expect(webhookIdOf("evt_a", "orders", 0)).to.not.equal(webhookIdOf("evt_a", "orders", 1));
    expect(webhookIdOf("evt_a", "orders", 0)).to.not.equal(webhookIdOf("evt_a", "audit", 0));
    expect(webhookIdOf("evt_a", "orders", 0)).to.match(/^msg_[0-9a-f]{32}$/);
  });

  it("re-validates a delivery message in full", () => {
    const good = { event_id: "evt_01KAMR3E8Z5W6VQ0M8Q2T4G9XN", subscription: "orders", webhook_id: webhookIdOf("e", "s", 0), attempt: 1 };
    expect(parseDeliveryMessage(JSON.stringify(good)).ok).to.equal(true);
    expect(parseDeliveryMessage(JSON.stringify({ ...good, url: "http://169.254.169.254/" })).ok).to.equal(false);
    expect(parseDeliveryMessage(JSON.stringify({ ...good, subscription: "../x" })).ok).to.equal(false);
    expect(parseDeliveryMessage("nope").ok).to.equal(false);
  });
});

describe("retry schedule", () => {
  it("waits about each step of the schedule (±20 % jitter) and honours Retry-After within the schedule's bounds", () => {
    const steps = [5, 300, 1800, 7200, 18000, 36000, 36000];
    steps.forEach((step, i) => {
      expect(retryDelaySeconds({ attempt: i + 1, random: () => 0 })).to.equal(Math.ceil(step * 0.8));
      expect(retryDelaySeconds({ attempt: i + 1, random: () => 0.999999 })).to.be.at.most(Math.ceil(step * 1.2));
    });
    expect(retryDelaySeconds({ attempt: 2, retryAfterSeconds: 1 })).to.equal(5);
    expect(retryDelaySeconds({ attempt: 2, retryAfterSeconds: 900 })).to.equal(900);
    expect(retryDelaySeconds({ attempt: 2, retryAfterSeconds: 10 ** 7 })).to.equal(36000);
    expect(retryDelaySeconds({ attempt: 7, random: () => 0.999999 })).to.be.at.most(43200);
    expect(retryDelaySeconds({ attempt: 3, scale: 0.001, random: () => 0.5 })).to.equal(2);
    expect(parseRetryAfter("120")).to.equal(120);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).to.be.within(59, 61);
    expect(parseRetryAfter("soon")).to.equal(undefined);
  });
});

describe("the SSRF-safe sender", () => {
  let server: http.Server;
  let base: string;
  let hits: string[];
  before(async () => {
    hits = [];
    server = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      if (req.url === "/redirect") return void res.writeHead(302, { location: "/target" }).end();
      if (req.url === "/big") return void res.writeHead(200).end("y".repeat(100_000));
      if (req.url === "/slow") return void setTimeout(() => res.writeHead(200).end(), 2000).unref();
      if (req.url === "/busy") return void res.writeHead(429, { "retry-after": "120" }).end("busy");
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  beforeEach(() => (hits = []));
  const local = { timeoutMs: 1000, allowLoopback: true };

  it("succeeds on a 2xx", async () => {
    expect(await sendDelivery(`${base}/ok`, "{}", {}, local)).to.include({ ok: true, status: 204 });
  });

  it("follows no redirect: a 302 is a failure and its Location is never requested", async () => {
    expect(await sendDelivery(`${base}/redirect`, "{}", {}, local)).to.include({ ok: false, status: 302 });
    expect(hits).to.deep.equal(["/redirect"]);
  });

  it("keeps the first 1 KB of a large answer", async () => {
    const result = await sendDelivery(`${base}/big`, "{}", {}, local);
    expect(result.ok).to.equal(true);
    expect(result.body).to.have.length(1024);
  });

  it("fails an attempt that outlives the timeout", async () => {
    expect(await sendDelivery(`${base}/slow`, "{}", {}, { ...local, timeoutMs: 200 })).to.include({ ok: false, error: "timeout" });
  });

  it("reads Retry-After on 429", async () => {
    expect(await sendDelivery(`${base}/busy`, "{}", {}, local)).to.include({ ok: false, status: 429, retryAfterSeconds: 120 });
  });

  it("refuses http:// and loopback unless the local stack allows them, before connecting", async () => {
    expect((await sendDelivery(`${base}/ok`, "{}", {}, { timeoutMs: 1000 })).error).to.match(/refused_scheme/);
    const literal = await sendDelivery(`https://127.0.0.1:${new URL(base).port}/ok`, "{}", {}, { timeoutMs: 1000 });
    expect(literal.error).to.match(/refused_address.*loopback/);
    for (const url of ["https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/", "https://10.0.0.1/"]) {
      expect((await sendDelivery(url, "{}", {}, { timeoutMs: 1000 })).error, url).to.match(/refused_address/);
    }
    expect(hits).to.deep.equal([]);
  });

  it("checks what a name resolves to at connect time: a name that resolves to loopback is refused when the socket connects", async () => {
    const result = await sendDelivery(`https://localhost:${new URL(base).port}/ok`, "{}", {}, { timeoutMs: 1000 });
    expect(result.error).to.match(/refused_address: localhost resolves to (127\.0\.0\.1|::1)/);
    expect(hits).to.deep.equal([]);
  });

  it("refuses a rebinding answer: the lookup the socket uses judges every address it gets, whatever an earlier answer was", async () => {
    const answers = ["93.184.216.34", "169.254.169.254"];
    const rebinding = ((_host: string, _options: dns.LookupOptions, callback: (e: null, a: dns.LookupAddress[]) => void) => {
      callback(null, [{ address: answers.shift() ?? "169.254.169.254", family: 4 }]);
    }) as unknown as typeof dns.lookup;
    const lookup = guardedLookup(false, rebinding);
    const first = await new Promise<unknown>((resolve) => lookup("rebind.example", { all: true }, (error, addresses) => resolve(error ?? addresses)));
    expect(first).to.deep.equal([{ address: "93.184.216.34", family: 4 }]);
    const second = await new Promise<unknown>((resolve) => lookup("rebind.example", { all: true }, (error) => resolve(error)));
    expect(second).to.be.instanceOf(RefusedAddressError);
    expect((second as Error).message).to.match(/169\.254\.169\.254/);
  });
});
