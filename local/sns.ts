/**
 * A local SNS endpoint for the pipeline's topic: `Publish` in SNS's own wire protocol (AWS Query:
 * a form-encoded POST, an XML answer), so `@aws-sdk/client-sns` and `aws sns publish` work
 * unchanged with `--endpoint-url`. Other actions answer 400 InvalidAction; an unknown topic 404
 * NotFound, as SNS does. Credentials are not checked (nothing here is reachable off this machine).
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { LocalPipeline, MessageAttributes } from "./pipeline";
import { readCappedBody } from "./requestBody";
import { AWS_LIMITS } from "../handlers/lib/primitives/limits";

const XMLNS = "https://sns.amazonaws.com/doc/2010-03-31/";
/** A topic's default MaximumMessageSize, as SNS answers past it (AWS_LIMITS.snsMessageBytes). */
const MAX_MESSAGE_BYTES = AWS_LIMITS.snsMessageBytes;
/**
 * The largest request body read: a message at the limit, form-encoded (up to 3 bytes per byte,
 * `%XX`), plus 64 KiB for attributes and the rest. Larger requests are refused before buffering.
 */
export const LOCAL_SNS_MAX_REQUEST_BYTES = 3 * MAX_MESSAGE_BYTES + 64 * 1024;

export function createSnsEndpoint(pipelines: readonly LocalPipeline[]): http.Server {
  return http.createServer((req, res) => {
    void readCappedBody(req, LOCAL_SNS_MAX_REQUEST_BYTES).then((read) => {
      if (!read.ok && read.reason === "aborted") return;
      const requestId = randomUUID();
      const answer = (status: number, xml: string) =>
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId }).end(`<?xml version="1.0"?>\n${xml}`);
      const fail = (status: number, code: string, message: string) =>
        answer(status, `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);

      if (!read.ok) {
        res.setHeader("connection", "close");
        return fail(413, "RequestEntityTooLarge", `The request body is larger than ${LOCAL_SNS_MAX_REQUEST_BYTES} bytes.`);
      }
      if (req.method !== "POST") return fail(400, "InvalidAction", "SNS takes POST requests");
      const form = new URLSearchParams(read.body.toString("utf8"));
      if (form.get("Action") !== "Publish") return fail(400, "InvalidAction", `the local SNS endpoint supports Publish only, not ${form.get("Action") ?? "(none)"}`);
      const pipeline = pipelines.find((p) => p.topicArn === form.get("TopicArn"));
      if (!pipeline) return fail(404, "NotFound", `Topic does not exist; the local topics are: ${pipelines.map((p) => p.topicArn).join(", ")}`);
      const message = form.get("Message");
      if (message === null || message === "") return fail(400, "InvalidParameter", "Invalid parameter: Message");
      if (Buffer.byteLength(message, "utf8") > MAX_MESSAGE_BYTES) return fail(400, "InvalidParameter", "Invalid parameter: Message too long");
      const messageId = pipeline.publish(message, messageAttributes(form));
      answer(200, `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`);
    }).catch(() => res.destroy()); // a client gone mid-answer: drop the socket, keep serving
  });
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` → attributes. */
function messageAttributes(form: URLSearchParams): MessageAttributes {
  const attributes: MessageAttributes = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    attributes[form.get(`${prefix}.Name`)!] = { DataType: form.get(`${prefix}.Value.DataType`) ?? "String", StringValue: form.get(`${prefix}.Value.StringValue`) ?? "" };
  }
  return attributes;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
