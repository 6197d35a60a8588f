/** Lambda entry for POST /events/{event_id}/replay. Without subscriptions every replay answers 409 (nothing to deliver to). */
import { createReplayHandler, replayDependencies } from "./lib/delivery/replay";
import { createSqsClient } from "./lib/queue/queueSender";
import { createDocumentClient } from "./lib/store/store";

export const handler = createReplayHandler(replayDependencies(process.env, { doc: createDocumentClient(), sqs: createSqsClient() }));
