/**
 * The forwardToEventBridge consumer (index.ts) as Lambda would run it: the closure Pulumi serialized,
 * called from a fresh Node process with a stand-in @aws-sdk/client-eventbridge that speaks PutEvents
 * to a local stand-in EventBridge, which answers as EventBridge does (sizes, integer range).
 * Shared by test/infra/consumer.test.ts and test/handlers/sizeClasses.test.ts.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REGION, type MockResource } from "../../cli/preview/mockStack";

/** PutEvents' request size: 14 bytes for Time plus the UTF-8 bytes of Source, DetailType and Detail. */
export function requestEntrySize(entries: { Source: string; DetailType: string; Detail: string }[]): number {
  return entries.reduce((sum, e) => sum + 14 + Buffer.byteLength(e.Source) + Buffer.byteLength(e.DetailType) + Buffer.byteLength(e.Detail), 0);
}

/** Whether a JSON text has a number token (outside strings) that is an integer beyond signed 64 bits. */
export function hasOutOfRangeInteger(text: string): boolean {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    const token = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))?.[0];
    if (token === undefined) continue;
    i += token.length - 1;
    const integral = /^-?\d+$/.test(token) ? BigInt(token) : undefined;
    if (integral !== undefined ? integral < -(2n ** 63n) || integral > 2n ** 63n - 1n : Math.abs(Number(token)) >= 2 ** 63) return true;
  }
  return false;
}

export async function codeOf(fn: MockResource): Promise<string> {
  const assets = await fn.inputs.code.assets;
  expect(Object.keys(assets)).to.deep.equal(["index.js"]);
  return await assets["index.js"].text;
}

/**
 * Writes the serialized module to an empty directory and calls its `handler` from a new Node
 * process whose only environment is what Lambda would give it. Lambda's runtime provides
 * @aws-sdk/client-eventbridge; here a small stand-in in the directory's node_modules speaks
 * EventBridge's PutEvents wire format (AWS JSON 1.1) to AWS_ENDPOINT_URL_EVENTBRIDGE, the
 * variable the real SDK honours too.
 */
export async function runInFreshProcess(code: string, event: unknown, endpoint: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-"));
  try {
    fs.writeFileSync(path.join(dir, "index.js"), code);
    fs.writeFileSync(path.join(dir, "event.json"), JSON.stringify(event));
    const sdk = path.join(dir, "node_modules", "@aws-sdk", "client-eventbridge");
    fs.mkdirSync(sdk, { recursive: true });
    fs.writeFileSync(path.join(sdk, "index.js"), EVENTBRIDGE_STAND_IN);
    const runner =
      'require("./index.js").handler(JSON.parse(require("fs").readFileSync("event.json","utf8")), {})' +
      '.then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });';
    const child = spawn(process.execPath, ["-e", runner], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", AWS_REGION: REGION, EVENT_BUS_NAME: "event-ingestion-dev-events", AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { code: exitCode, stdout, stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const EVENTBRIDGE_STAND_IN = `
class PutEventsCommand { constructor(input) { this.input = input; } }
class EventBridgeClient {
  async send(command) {
    const response = await fetch(process.env.AWS_ENDPOINT_URL_EVENTBRIDGE, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSEvents." + command.constructor.name.replace(/Command$/, "") },
      body: JSON.stringify(command.input),
    });
    if (!response.ok) throw new Error("EventBridge answered " + response.status);
    return response.json();
  }
}
module.exports = { EventBridgeClient, PutEventsCommand };
`;

export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
  Time: string;
}

export interface FakeEventBridge {
  url: string;
  calls: { Entries: PutEventsEntry[] }[];
  /** Refuse this many entries of the next call. */
  failNext: number;
  /** Requests refused whole (1 MiB or more), as EventBridge answers them with a 400. */
  refusedRequests: number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Answers PutEvents as EventBridge does: an entry id per accepted entry, an error code per refused
 * one (MalformedDetail for an integer outside signed 64 bits), and a 400 for a request of 1 MiB or more (EventBridge quotas).
 */
export async function startFakeEventBridge(): Promise<FakeEventBridge> {
  const state: FakeEventBridge = {
    url: "",
    calls: [],
    failNext: 0,
    refusedRequests: 0,
    reset: () => {
      state.calls = [];
      state.failNext = 0;
      state.refusedRequests = 0;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
        res.writeHead(400).end();
        return;
      }
      const input = JSON.parse(body) as { Entries: PutEventsEntry[] };
      if (requestEntrySize(input.Entries) >= 1024 * 1024) {
        state.refusedRequests++;
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ __type: "ValidationException", message: "Total size of the entries in the request is over the limit." }));
        return;
      }
      state.calls.push(input);
      const failing = state.failNext;
      state.failNext = 0;
      const entries = input.Entries.map((entry, i) =>
        i < failing
          ? { ErrorCode: "InternalFailure", ErrorMessage: "try again" }
          : hasOutOfRangeInteger(entry.Detail)
            ? { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." }
            : { EventId: `id-${i}` },
      );
      const failed = entries.filter((e) => "ErrorCode" in e).length;
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ FailedEntryCount: failed, Entries: entries }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
