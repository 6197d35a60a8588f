/**
 * Storage faults dynalite cannot produce: a DynamoDB that throttles every request (a real HTTP
 * response the SDK deserializes, retries and finally throws) and an endpoint nobody listens on.
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { HttpResponse } from "@smithy/core/transport";

export interface ThrottlingHandler {
  /** How many HTTP requests the SDK sent (first attempt plus retries). */
  readonly attempts: number;
  handle(): Promise<{ response: HttpResponse }>;
}

/** A requestHandler answering every DynamoDB call with ProvisionedThroughputExceededException. */
export function throttlingRequestHandler(): ThrottlingHandler {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    async handle() {
      attempts++;
      const body = JSON.stringify({
        __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        message: "throttled",
      });
      return {
        response: new HttpResponse({
          statusCode: 400,
          headers: {
            "content-type": "application/x-amz-json-1.0",
            "x-amzn-errortype": "ProvisionedThroughputExceededException",
            "x-amzn-requestid": `throttle-${attempts}`,
          },
          body: Readable.from([Buffer.from(body)]),
        }),
      };
    },
  };
}

/** An http:// endpoint on a port that was free a moment ago: connecting is refused. */
export async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
