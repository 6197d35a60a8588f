/**
 * A local SSM Parameter Store endpoint with just what the webhook function calls: `GetParameter`
 * (AWS JSON 1.1, `X-Amz-Target: AmazonSSM.GetParameter`) for the SecureStrings of the local webhook
 * sources. The function reaches it through AWS_ENDPOINT_URL_SSM, so the deployed code path
 * (Powertools → SSM client → HTTP) runs locally unchanged. Reads the store on every call, so a
 * secret changed with `npm run webhooks` is served at once (the function's cache still applies).
 */
import * as http from "node:http";
import type { WebhookSourceStore } from "./webhookStore";

export function createSsmEndpoint(store: Pick<WebhookSourceStore, "secretsByParameter">): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(body));
      };
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method !== "POST" || target !== "AmazonSSM.GetParameter") return fail("InvalidAction", `the local SSM endpoint answers AmazonSSM.GetParameter only, not ${target || req.method}`);
      let request: { Name?: unknown; WithDecryption?: unknown };
      try {
        request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof request;
      } catch {
        return fail("SerializationException", "request body is not JSON");
      }
      const name = String(request.Name ?? "");
      const secrets = store.secretsByParameter().get(name);
      if (!secrets) return fail("ParameterNotFound", `parameter ${name} not found`);
      answer(200, {
        Parameter: {
          Name: name,
          Type: "SecureString",
          // As SSM does: without WithDecryption a SecureString comes back encrypted, useless to the caller.
          Value: request.WithDecryption === true ? JSON.stringify(secrets) : Buffer.from(`local-ciphertext:${name}`).toString("base64"),
          Version: 1,
          DataType: "text",
          ARN: `arn:aws:ssm:local:000000000000:parameter${name}`,
        },
      });
    });
  });
}
