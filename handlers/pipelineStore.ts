/**
 * Lambda entry of the SNS pipeline's last stage: the event as the user's stages left it, stored
 * through the shared event writer (handlers/lib/pipeline/pipeline.ts, handlers/lib/store/eventWriter.ts).
 */
import { ingestConfigFromEnv } from "./lib/ops/config";
import { createEventWriter } from "./lib/store/eventWriter";
import { log } from "./lib/ops/log";
import { PipelineError, storeAccepted, type AcceptedEvent, type StoreResult } from "./lib/pipeline/pipeline";
import { createDocumentClient, EventRepository } from "./lib/store/store";
import { catalog } from "../events/catalog";
import { payloadObjectsFromEnv } from "./lib/store/payloadObjects";

const config = ingestConfigFromEnv();
const writer = createEventWriter({ repository: new EventRepository(createDocumentClient(), config.eventsTable, payloadObjectsFromEnv()), config, catalog });

export async function handler(input: AcceptedEvent): Promise<StoreResult> {
  const fields = { pipeline: input.origin.pipeline, message_id: input.origin.message_id };
  try {
    const result = await storeAccepted(input, writer);
    log("INFO", "pipeline event stored", { ...fields, event_id: result.event_id, duplicate: result.duplicate });
    return result;
  } catch (error) {
    if (error instanceof PipelineError) log("WARN", "pipeline event not stored", { ...fields, code: error.code });
    throw error;
  }
}
