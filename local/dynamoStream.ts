/**
 * The events table's stream, locally. dynalite has no streams, so the function bundles reach
 * dynalite through this thin proxy: every request passes through unchanged, and after dynalite has
 * answered 200 to a write that created an event (a conditional PutItem, an unconditional one whose
 * key was absent just before, or a put of a BatchWriteItem that it processed), the item as written
 * is emitted as a stream record's NEW_IMAGE, as DynamoDB Streams would record an INSERT. Batch puts
 * carry fresh random ids only (store.ts putBatch), so each processed one is a new event; the rare
 * retry of the same batch emits its records again, which the dispatcher absorbs (the delivery
 * state exists already) where DynamoDB would have emitted nothing for identical bytes. Updates
 * (status, acks) emit nothing, as the dispatcher ignores MODIFY. Records are kept in memory only:
 * a write just before the local stack stops may not be delivered (a deployed stream keeps 24 h).
 *
 * LocalEventStream then plays Lambda's stream event source mapping: batches of up to 100 records
 * in order, the whole batch retried on an error, and from the lowest reported failure on a partial
 * batch response.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent, DynamoDBBatchResponse } from "aws-lambda";
import type { LocalFunction } from "./lambdaHost";

type Image = Record<string, AttributeValue>;

export interface StreamProxyOptions {
  /** dynalite's endpoint. */
  target: string;
  tableName: string;
  keyName: string;
  onInsert(image: Image): void;
}

/** Starts nothing: returns the proxy server; the caller listens. */
export function createStreamProxy(options: StreamProxyOptions): http.Server {
  const target = new URL(options.target);

  function forward(req: Pick<http.IncomingMessage, "url" | "method" | "headers">, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host, "content-length": String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      upstream.on("error", reject);
      upstream.end(body);
    });
  }

  /** Which of these keys exist now (a plain GetItem each, straight to dynalite). */
  async function existing(req: http.IncomingMessage, keys: Image[]): Promise<Set<string>> {
    const found = new Set<string>();
    await Promise.all(
      keys.map(async (key) => {
        const body = Buffer.from(JSON.stringify({ TableName: options.tableName, Key: key, ConsistentRead: true, ProjectionExpression: "#k", ExpressionAttributeNames: { "#k": options.keyName } }));
        const fake = { url: "/", method: "POST", headers: { ...req.headers, "x-amz-target": "DynamoDB_20120810.GetItem" } };
        const answer = await forward(fake, body);
        const item = answer.status === 200 ? (JSON.parse(answer.body.toString("utf8")) as { Item?: Image }).Item : undefined;
        if (item) found.add(JSON.stringify(key));
      }),
    );
    return found;
  }

  const keyOf = (item: Image): Image => ({ [options.keyName]: item[options.keyName]! });

  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers["x-amz-target"] ?? "").split(".").pop();
      try {
        let inserts: Image[] = [];
        let batchPuts: Image[] = [];
        let before = new Set<string>();
        let request: { TableName?: string; Item?: Image; ConditionExpression?: string; RequestItems?: Record<string, { PutRequest?: { Item: Image } }[]> } = {};
        if (action === "PutItem" || action === "BatchWriteItem") request = JSON.parse(body.toString("utf8") || "{}") as typeof request;
        if (action === "PutItem" && request.TableName === options.tableName && request.Item && !/attribute_not_exists/.test(request.ConditionExpression ?? "")) {
          before = await existing(req, [keyOf(request.Item)]);
        }
        if (action === "BatchWriteItem") {
          batchPuts = (request.RequestItems?.[options.tableName] ?? []).flatMap((r) => (r.PutRequest ? [r.PutRequest.Item] : []));
        }
        const answer = await forward(req, body);
        if (answer.status === 200) {
          if (action === "PutItem" && request.TableName === options.tableName && request.Item && !before.has(JSON.stringify(keyOf(request.Item)))) inserts = [request.Item];
          if (action === "BatchWriteItem" && batchPuts.length > 0) {
            const output = JSON.parse(answer.body.toString("utf8")) as { UnprocessedItems?: Record<string, { PutRequest?: { Item: Image } }[]> };
            const left = new Set((output.UnprocessedItems?.[options.tableName] ?? []).flatMap((r) => (r.PutRequest ? [JSON.stringify(keyOf(r.PutRequest.Item))] : [])));
            inserts = batchPuts.filter((item) => !left.has(JSON.stringify(keyOf(item))));
          }
        }
        res.writeHead(answer.status, answer.headers).end(answer.body);
        for (const image of inserts) options.onInsert(image);
      } catch (error) {
        res.destroy(error as Error);
      }
    });
  });
}

export class LocalEventStream {
  private buffer: DynamoDBRecord[] = [];
  private sequence = 0;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly tableArn: string,
    private readonly region: string,
    private readonly keyName: string,
  ) {}

  push(image: Image): void {
    this.sequence += 1;
    this.buffer.push({
      eventID: randomUUID(),
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: this.region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { [this.keyName]: image[this.keyName]! },
        NewImage: image,
        SequenceNumber: String(this.sequence).padStart(21, "0"),
        SizeBytes: JSON.stringify(image).length,
        StreamViewType: "NEW_IMAGE",
      },
      eventSourceARN: `${this.tableArn}/stream/local`,
    });
    this.wake?.();
  }

  /** Starts invoking `fn` with batches, in order, as Lambda's event source mapping does. */
  start(fn: LocalFunction, timeoutMs: number, batchSize = 100): void {
    this.running = (async () => {
      while (!this.stopped) {
        if (this.buffer.length === 0) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        const batch = this.buffer.slice(0, batchSize);
        const event: DynamoDBStreamEvent = { Records: batch };
        let firstFailed = batch.length;
        try {
          const response = (await fn.invoke(event, timeoutMs)) as DynamoDBBatchResponse | undefined;
          for (const failure of response?.batchItemFailures ?? []) {
            const i = batch.findIndex((r) => r.dynamodb?.SequenceNumber === failure.itemIdentifier);
            firstFailed = Math.min(firstFailed, i < 0 ? 0 : i);
          }
        } catch {
          firstFailed = 0;
        }
        this.buffer.splice(0, firstFailed);
        if (firstFailed < batch.length) await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
  }

  /** Records not yet handed over successfully. */
  get backlog(): number {
    return this.buffer.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }
}
