/**
 * The log key as an explicit component argument (config logEncryption; docs/ARCHITECTURE.md):
 * each component that creates log groups, built on its own under Pulumi mocks, leaves them on
 * AWS-managed encryption without `logKey` and puts the key on every one of them (access
 * logs, state machine logs, and the log group of every function it creates) with it. That every
 * log group of the real prod stack carries the key is checked in test/infra/pipeline.test.ts
 * ("config logEncryption"); the stack test here turns on every component that creates log groups,
 * so that one index.ts forgets to hand the key to is caught even when prod leaves it off.
 */
import { expect } from "chai";
import { newSubscriptionSecret } from "../../handlers/lib/delivery/subscriptions";
import * as pulumi from "@pulumi/pulumi";
import { EventIngestionApi } from "../../components/EventIngestionApi";
import { EventPipeline } from "../../components/EventPipeline";
import { EventStore } from "../../components/EventStore";
import { IngestQueue } from "../../components/IngestQueue";
import { buildStack, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";
import { EVERYTHING_ON, sharedStack } from "../support/sharedStacks";

const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const FUNCTION = "aws:lambda/function:Function";
const KEY_ARN = "arn:aws:kms:eu-north-1:123456789012:key/0000aaaa-log-key";

/** A stand-in for LogEncryptionKey: its ARN, and the log group names its policy would list. */
const registered: string[] = [];
const testKey = (keyArn: string) => ({ keyArn, addLogGroup: (name: pulumi.Input<string>) => void registered.push(String(name)) });

const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));

/** Every component that creates a log group, named `${prefix}-…`, given `logKey` or not. */
async function createComponents(prefix: string, keyArn: string | undefined): Promise<void> {
  const key = keyArn === undefined ? {} : { logKey: testKey(keyArn) };
  const store = new EventStore(`${prefix}-store`, { stream: true });
  const consumer = store.onEvent("audit", async () => {}, { ...key });
  const ingestQueue = new IngestQueue(`${prefix}-queue`, { eventStore: store, ...key });
  const api = new EventIngestionApi(`${prefix}-api`, { eventStore: store, ingestQueue, ...key });
  const pipeline = new EventPipeline(`${prefix}-pipe`, { store, stages: [{ name: "noop", handler: async (event) => event }], ...key });
  await Promise.all([resolve(consumer.function.arn), resolve(ingestQueue.queueUrl), resolve(api.url), resolve(pipeline.stateMachineArn)]);
  await pulumi.runtime.awaitStackRegistrations?.();
}

describe("logKey: the log key as an explicit component argument", function () {
  this.timeout(60_000);
  let stack: BuiltStack;
  const made = (prefix: string, type: string) => stack.resources.filter((r) => r.type === type && r.name.startsWith(`${prefix}-`));
  /** The log group a function writes to, among those its component created. */
  const logGroupOf = (prefix: string, fn: MockResource) => {
    const groups = made(prefix, LOG_GROUP).filter((g) => g.inputs.name === fn.inputs.loggingConfig.logGroup);
    expect(groups, fn.inputs.name).to.have.length(1);
    return groups[0]!;
  };

  before(async () => {
    // logEncryption is off in dev, so nothing in the stack hands a key to the components below.
    stack = await buildStack("dev");
    await createComponents("plain", undefined);
    await createComponents("keyed", KEY_ARN);
  });

  it("covers the access logs, the state machine logs and the log group of every kind of function", () => {
    for (const prefix of ["plain", "keyed"]) {
      const names = made(prefix, LOG_GROUP).map((g) => g.inputs.name);
      expect(names).to.include.members([
        "/aws/apigateway/event-ingestion-dev-api",
        `/aws/vendedlogs/states/event-ingestion-dev-${prefix}-pipe-machine`,
        "/aws/lambda/event-ingestion-dev-ingest",
        "/aws/lambda/event-ingestion-dev-authorizer",
        "/aws/lambda/event-ingestion-dev-processor",
        "/aws/lambda/event-ingestion-dev-consumer-audit",
        `/aws/lambda/event-ingestion-dev-${prefix}-pipe-noop`,
        `/aws/lambda/event-ingestion-dev-${prefix}-pipe-validate`,
      ]);
      // Every function's own log group, and nothing more, besides the access and state machine logs.
      expect(names).to.have.length(made(prefix, FUNCTION).length + 2);
    }
  });

  it("without logKey, a component's log groups carry no key (AWS-managed encryption)", () => {
    const groups = made("plain", LOG_GROUP);
    expect(groups).to.not.be.empty;
    for (const group of groups) expect(group.inputs, group.inputs.name).not.to.have.property("kmsKeyId");
  });

  it("with logKey, every log group a component creates, and every function's log group, carries the key", () => {
    const groups = made("keyed", LOG_GROUP);
    expect(groups).to.not.be.empty;
    for (const group of groups) expect(group.inputs.kmsKeyId, group.inputs.name).to.equal(KEY_ARN);
    const functions = made("keyed", FUNCTION);
    expect(functions).to.have.length.greaterThan(4);
    for (const fn of functions) expect(logGroupOf("keyed", fn).inputs.kmsKeyId, fn.inputs.name).to.equal(KEY_ARN);
  });

  it("a key set by a log group transform wins over logKey", async () => {
    const store = new EventStore("transform-store");
    const api = new EventIngestionApi("transform-api", {
      eventStore: store,
      logKey: testKey(KEY_ARN),
      transform: { accessLogGroup: { kmsKeyId: "arn:aws:kms:eu-north-1:123456789012:key/other" } },
    });
    await resolve(api.url);
    await pulumi.runtime.awaitStackRegistrations?.();
    const access = made("transform", LOG_GROUP).filter((g) => g.name === "transform-api-access-logs");
    expect(access).to.have.length(1);
    expect(access[0]!.inputs.kmsKeyId).to.equal("arn:aws:kms:eu-north-1:123456789012:key/other");
  });
});

/**
 * Config that turns on every component creating log groups. A new such component behind a toggle
 * adds its toggle here (prod may leave it off, and then pipeline.test.ts would not see it).
 */
/** Every component that makes log groups, deliveries included (a subscription and its secret). */
const EVERY_LOG_GROUP_ON = {
  ...EVERYTHING_ON,
  pipeline: true,
  ingestMode: "queued",
  logEncryption: true,
  subscriptions: "orders=https://orders.example.com/hooks|order.*",
  "subscriptionSecret-orders": newSubscriptionSecret(),
} as const;

describe("logKey in the stack: index.ts hands the log key to every component", function () {
  this.timeout(60_000);
  let s: BuiltStack;
  before(async () => {
    s = await sharedStack("dev", EVERY_LOG_GROUP_ON);
  });

  it("with every log-making component on, every log group and every function's log group carries the log key", () => {
    const keyArn = s.outputs.logKeyArn;
    expect(keyArn).to.be.a("string");
    const groups = s.ofType(LOG_GROUP);
    const names = groups.map((g) => g.inputs.name);
    expect(names).to.include.members([
      "/aws/lambda/event-ingestion-dev-processor",
      "/aws/lambda/event-ingestion-dev-consumer-forward",
      "/aws/vendedlogs/states/event-ingestion-dev-payments-machine",
      "/aws/lambda/event-ingestion-dev-deliverer",
      "/aws/lambda/event-ingestion-dev-delivery-dispatch",
    ]);
    for (const group of groups) expect(group.inputs.kmsKeyId, group.inputs.name).to.equal(keyArn);
    for (const fn of s.ofType(FUNCTION)) expect(names, fn.inputs.name).to.include(fn.inputs.loggingConfig.logGroup);
  });
});
