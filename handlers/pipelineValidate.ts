/**
 * Lambda entry of the SNS pipeline's first stage: one buffered SNS message → the event, read and
 * validated exactly as POST /events reads its body (handlers/lib/pipeline/pipeline.ts).
 */
import { catalogPolicyFromEnv, requireEnv } from "./lib/ops/config";
import { log } from "./lib/ops/log";
import { acceptMessage, messageLogIds, PIPELINE_ENV, PipelineError, type AcceptedEvent, type BufferedMessage } from "./lib/pipeline/pipeline";
import { ENV } from "./lib/primitives/tables";
import { catalog } from "../events/catalog";

const options = {
  pipeline: requireEnv(process.env, PIPELINE_ENV.name),
  maxEventBytes: Number(requireEnv(process.env, ENV.maxEventBytes)),
  catalog,
  catalogPolicy: catalogPolicyFromEnv(),
};

export async function handler(message: BufferedMessage): Promise<AcceptedEvent> {
  try {
    return acceptMessage(message, options);
  } catch (error) {
    // Identifiers and the reason only; the message itself stays out of the logs. message_id is the
    // SNS MessageId, as on the "stored" line; the SQS record's id has its own name.
    if (error instanceof PipelineError) log("WARN", "pipeline message rejected", { pipeline: options.pipeline, ...messageLogIds(message), code: error.code });
    throw error;
  }
}
