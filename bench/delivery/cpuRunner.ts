/**
 * Runs in a child process (bench/delivery.ts forks it with stdout ignored, as the deliverer's log
 * lines would otherwise reach the terminal): imports the shipped deliverer bundle and the minimal
 * deliverer bundle, both pointed at the instant store (instantStore.mjs) and at the same receiver
 * (receiverServer.ts, its own process), and times three variants in alternating blocks: each
 * bundle handed SQS batches of DELIVERY_BATCH_SIZE messages, and bare signed POSTs of the same
 * body, DELIVERY_BATCH_SIZE at a time, with no storage at all. Reports over IPC.
 */
import { createHmac } from "node:crypto";
import * as http from "node:http";
import { pathToFileURL } from "node:url";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { interleave, runBlock, type BlockResult } from "../lib/operations";

export interface CpuRunnerInput {
  bundles: { ours: string; minimal: string };
  rounds: number;
  /** SQS batches per block. */
  batchesPerBlock: number;
  batchSize: number;
  /** The delivery messages a batch's records carry, one per record (their events and states are what the instant store answers). */
  messageBodies: string[];
  queueArn: string;
  receiverUrl: string;
  secret: string;
  /** The body a bare POST sends: the event as the deliverer serializes it. */
  bareBody: string;
}

export type CpuVariant = "ours" | "minimal" | "bare";
export interface CpuRunnerOutput {
  blocks: Record<CpuVariant, BlockResult[]>;
}

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

async function main(input: CpuRunnerInput): Promise<CpuRunnerOutput> {
  const load = async (file: string) => ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
  const ours = await load(input.bundles.ours);
  const minimal = await load(input.bundles.minimal);
  let sequence = 0;
  const batch = (): SQSEvent => ({
    Records: Array.from({ length: input.batchSize }, (_, i) => {
      sequence += 1;
      return {
        messageId: `bench-${sequence}`,
        receiptHandle: `bench-${sequence}`,
        body: input.messageBodies[i % input.messageBodies.length]!,
        attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "bench", ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: input.queueArn,
        awsRegion: "eu-north-1",
      };
    }),
  });

  const url = new URL(input.receiverUrl);
  const key = Buffer.from(input.secret.slice("whsec_".length), "base64");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const barePost = () =>
    new Promise<void>((resolve, reject) => {
      const id = `bare-${++sequence}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.${input.bareBody}`).digest("base64");
      const headers = { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature, "content-type": "application/json", "content-length": String(Buffer.byteLength(input.bareBody)) };
      const request = http.request(url, { method: "POST", agent, headers }, (response) => {
        response.resume();
        response.on("end", () => (response.statusCode === 204 ? resolve() : reject(new Error(`the receiver answered ${response.statusCode}`))));
      });
      request.on("error", reject);
      request.end(input.bareBody);
    });

  const delivered = (handler: Handler) => async () => {
    const events = Array.from({ length: input.batchesPerBlock }, batch);
    return runBlock(async (i) => {
      const response = await handler(events[i]!);
      if (response.batchItemFailures.length > 0) throw new Error(`${response.batchItemFailures.length} deliveries failed`);
    }, input.batchesPerBlock);
  };
  const variants: Record<CpuVariant, () => Promise<BlockResult>> = {
    ours: delivered(ours),
    minimal: delivered(minimal),
    bare: () => runBlock(() => Promise.all(Array.from({ length: input.batchSize }, barePost)), input.batchesPerBlock),
  };
  for (const warmup of Object.values(variants)) await warmup();
  return { blocks: await interleave(input.rounds, variants) };
}

process.once("message", (input) => {
  main(input as CpuRunnerInput).then(
    (output) => process.send!({ ok: true, output }, () => process.exit(0)),
    (error: Error) => process.send!({ ok: false, error: String(error.stack ?? error) }, () => process.exit(1)),
  );
});
