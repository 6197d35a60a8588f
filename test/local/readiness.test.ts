/**
 * Readiness of the local stack (issue 20, item 16): `GET /health` is the signal scripts wait on, so
 * the API gateway must be the last endpoint to listen. Every server's `listen` is recorded in order
 * while a stack with every optional endpoint (queued mode's SQS, the pipeline's SNS) starts.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { Server, type AddressInfo } from "node:net";
import { captureHandlerLogs, startTestStack, tempDataDir, type HandlerLogs } from "../support/localStack";
import type { LocalStack } from "../../local/stack";

describe("local stack readiness: GET /health answers only once every endpoint listens", function () {
  this.timeout(60_000);
  let stack: LocalStack;
  let logs: HandlerLogs;
  let dataDir: string;
  /** Servers in the order they started listening. */
  const listening: Server[] = [];
  const listen = Server.prototype.listen;

  before(async () => {
    logs = captureHandlerLogs();
    dataDir = tempDataDir();
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      this.once("listening", () => listening.push(this));
      return (listen as (...a: unknown[]) => Server).apply(this, args);
    } as typeof Server.prototype.listen;
    try {
      stack = await startTestStack(dataDir, { sqsPort: 0, settings: { pipeline: true, ingestMode: "queued" } });
    } finally {
      Server.prototype.listen = listen;
    }
  });
  after(async () => {
    await stack?.close();
    logs.restore();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the API gateway (and so /health) starts listening after DynamoDB, SSM, SQS and SNS", async () => {
    const port = (url: string) => Number(new URL(url).port);
    const order = listening.filter((s) => s.address() !== null).map((s) => (s.address() as AddressInfo).port);
    const endpoints = {
      dynamodb: port(stack.dynamoEndpoint),
      ssm: port(stack.ssmEndpoint),
      sqs: port(stack.queue!.sqsEndpoint),
      sns: port(stack.pipeline!.snsEndpoint),
      api: port(stack.url),
    };
    for (const [name, p] of Object.entries(endpoints)) expect(order, name).to.include(p);
    const at = (p: number) => order.indexOf(p);
    for (const name of ["dynamodb", "ssm", "sqs", "sns"] as const) {
      expect(at(endpoints[name]), `${name} listens before the API`).to.be.lessThan(at(endpoints.api));
    }
    expect((await fetch(`${stack.url}/health`)).status).to.equal(200);
  });
});
