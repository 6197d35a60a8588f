/**
 * The floor the deliverer is compared with: the least any at-least-once delivery that keeps a
 * status must do per SQS message. Parse the message body (`{event_id}`), read the event with one
 * `GetCommand`, serialize it with `JSON.stringify`, sign it with Standard Webhooks (one HMAC-SHA256
 * of `${id}.${timestamp}.${body}`, the secret from the environment), POST it over a keep-alive
 * `http.Agent`, and record the outcome with one `UpdateCommand` (`status`, `delivery_attempts`) —
 * a message whose POST did not answer 2xx is reported in `batchItemFailures`. No validation, no
 * subscription state, no attempt log, no SSRF checks, no retry schedule, no logging or metrics.
 * Bundled with the deploy bundles' esbuild options and the same SDK (bench/delivery.ts).
 */
import { createHmac } from "node:crypto";
import * as http from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const table = process.env.EVENTS_TABLE_NAME;
const url = new URL(process.env.MINIMAL_RECEIVER_URL!);
const key = Buffer.from(process.env.MINIMAL_SECRET!.slice("whsec_".length), "base64");
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function post(body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request(url, { method: "POST", agent, headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", () => resolve(0));
    request.end(body);
  });
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failed = await Promise.all(
    event.Records.map(async (record) => {
      const { event_id } = JSON.parse(record.body) as { event_id: string };
      const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { event_id } }));
      const body = JSON.stringify(Item);
      const id = record.messageId;
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
      const status = await post(body, { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature });
      const ok = status >= 200 && status < 300;
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { event_id },
          UpdateExpression: "SET #status = :status ADD delivery_attempts :one",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":status": ok ? "delivered" : "pending", ":one": 1 },
        }),
      );
      return ok ? undefined : record.messageId;
    }),
  );
  return { batchItemFailures: failed.flatMap((id) => (id ? [{ itemIdentifier: id }] : [])) };
};
