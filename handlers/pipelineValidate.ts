/**
 * Lambda entry of the SNS pipeline's first stage: one buffered SNS message → the event, read and
 * validated exactly as POST /events reads its body (handlers/lib/pipeline/pipeline.ts).
 */
import { catalogPolicyFromEnv, requireEnv } from "./lib/ops/config";
import { log } from "./lib/ops/log";
import { acceptMessage, PIPELINE_ENV, PipelineError, type AcceptedEvent, type BufferedMessage } from "./lib/pipeline/pipeline";
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
    // Identifiers and the reason only; the message itself stays out of the logs.
    if (error instanceof PipelineError) log("WARN", "pipeline message rejected", { pipeline: options.pipeline, message_id: message.messageId, code: error.code });
    throw error;
  }
}
