/**
 * A local SSM Parameter Store endpoint with just what the webhook function calls: `GetParameter`
 * (AWS JSON 1.1, `X-Amz-Target: AmazonSSM.GetParameter`) for the SecureStrings of the local webhook
 * sources. The function reaches it through AWS_ENDPOINT_URL_SSM, so the deployed code path
 * (Powertools → SSM client → HTTP) runs locally unchanged. Reads the store on every call, so a
 * secret changed with `npm run webhooks` is served at once (the function's cache still applies).
 *
 * Only the stack's own functions may read: each start gives them an access key id made of a
 * random per-start token (AWS_ACCESS_KEY_ID in their environment), and a request whose SigV4
 * `Authorization` names another key gets SSM's own 400 UnrecognizedClientException. Another
 * user's process on this machine, or a local tool with the dummy `local` credentials, reads
 * nothing. What remains: a process of the same OS user can read the token from the stack's
 * environment, as it can read the 0600 secrets file itself (docs/THREAT_MODEL.md).
 * Request bodies are capped (GetParameter's is tiny; 64 KiB is far above any real one).
 */
import * as http from "node:http";
import { readCappedBody } from "./requestBody";
import type { WebhookSourceStore } from "./webhookStore";

/** The largest request body the local SSM endpoint reads. */
export const LOCAL_SSM_MAX_REQUEST_BYTES = 64 * 1024;

export interface SsmEndpointOptions {
  /** The access key id the functions sign with; any other is refused. */
  accessKeyId: string;
}

/** The access key id in a SigV4 `Authorization` header (`... Credential=<id>/<date>/...`), if any. */
export function signingAccessKeyId(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}

export function createSsmEndpoint(store: Pick<WebhookSourceStore, "secretsByParameter">, options: SsmEndpointOptions): http.Server {
  return http.createServer((req, res) => {
    void readCappedBody(req, LOCAL_SSM_MAX_REQUEST_BYTES).then((read) => {
      if (!read.ok && read.reason === "aborted") return;
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", ...headers }).end(JSON.stringify(body));
      };
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      if (!read.ok) return answer(413, { __type: "RequestEntityTooLarge", message: `The request body is larger than ${LOCAL_SSM_MAX_REQUEST_BYTES} bytes.` }, { connection: "close" });
      if (signingAccessKeyId(req.headers.authorization) !== options.accessKeyId) {
        return fail("UnrecognizedClientException", "The security token included in the request is invalid.");
      }
      const chunks = [read.body];
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method !== "POST" || target !== "AmazonSSM.GetParameter") return fail("InvalidAction", `the local SSM endpoint answers AmazonSSM.GetParameter only, not ${target || req.method}`);
      let request: { Name?: unknown; WithDecryption?: unknown } | null;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof request;
      } catch {
        return fail("SerializationException", "request body is not JSON");
      }
      if (request === null || typeof request !== "object") return fail("SerializationException", "request body is not a JSON object");
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
    }).catch(() => res.destroy()); // a client gone mid-answer: drop the socket, keep serving
  });
}
