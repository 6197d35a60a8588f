/**
 * @event-ingestion/client: send events to an event-ingestion API with batching, retries that
 * never store an event twice, and graceful shutdown. No runtime dependencies beyond fetch.
 */
export { EventClient, type AnyEvents, type ClientStats, type CloseOptions, type EventMap } from "./client.js";
export { DEFAULTS, SERVER_LIMITS, type ClientHooks, type DropInfo, type EventClientOptions, type FlushInfo, type RetryInfo } from "./options.js";
export { isAccepted, type FailureReason, type ProblemDetails, type SendOutcome, type SendStatus } from "./outcomes.js";
export type { Metadata, SendOptions } from "./pendingEvent.js";
