/**
 * Size and shape limits: what the AWS services on an event's way accept (AWS_LIMITS) and what this
 * API imposes (LIMITS). Every limit is one named constant here, used by the paths that must respect it.
 */
/**
 * What AWS services accept, one constant each, with where the figure comes from (checked against
 * the AWS documentation in December 2026; SQS, EventBridge and asynchronous Lambda moved from
 * 256 KB to 1 MiB, and code written for 256 KB split, refused or dropped payloads it no longer must).
 */
export const AWS_LIMITS = {
  /**
   * SQS SendMessage: one message body; SendMessageBatch: each body and all bodies together.
   * "The maximum allowed individual message size and the maximum total payload size (the sum of
   * the individual lengths of all of the batched messages) are both 1 MiB 1,048,576 bytes"
   * (SQS API Reference, SendMessage / SendMessageBatch). A queue accepts it only with
   * `MaximumMessageSize` raised to it; the attribute still defaults to 262,144.
   */
  sqsMessageBytes: 1_048_576,
  /**
   * EventBridge PutEvents: one entry (Time 14 bytes + Source, DetailType, Detail and Resources in
   * UTF-8 bytes, "Calculating PutEvents event entry size"), and the entries of one call together:
   * 1 MB, per the AWS Compute Blog "More room to build: serverless services now support payloads up
   * to 1 MB" (29 January 2026: "AWS has raised the maximum payload size from 256 KB to 1 MB for
   * asynchronous AWS Lambda function invocations, Amazon SQS, and Amazon EventBridge"). The older
   * PutEvents API reference pages still say 256 KB.
   */
  eventBridgeEntryBytes: 1_048_576,
  /**
   * SNS Publish: message body plus attributes, 262,144 bytes (256 KiB), a topic's default
   * `MaximumMessageSize` ("Publishing large messages with Amazon SNS": raised per topic up to 1 MiB,
   * then only for SQS, Lambda and Firehose subscriptions). The SNS pipeline keeps the default: its
   * Step Functions input (below) could not take more. Over it, Publish fails with `InvalidParameter`.
   */
  snsMessageBytes: 262_144,
  /**
   * Step Functions: a state's or an execution's input and output, 262,144 bytes of UTF-8
   * ("Step Functions service quotas"; the API's `input` length constraint is 262144). The SNS
   * pipeline's execution input is the pipe's batch of SQS records, each holding an SNS envelope.
   */
  stepFunctionsPayloadBytes: 262_144,
  /** EventBridge PutEvents: entries per call (API Reference, PutEvents). */
  eventBridgeMaxEntries: 10,
  /** Lambda Invoke, InvocationType Event: "For asynchronous invocations, the maximum payload size is 1 MB" (Lambda API Reference, Invoke). */
  lambdaAsyncPayloadBytes: 1_048_576,
  /** Lambda Invoke, RequestResponse: "For synchronous invocations, the maximum payload size is 6 MB" (Lambda API Reference, Invoke); an API Gateway proxy event counts whole. */
  lambdaSyncPayloadBytes: 6 * 1_048_576,
  /** API Gateway HTTP API: "Payload size 10 MB", not adjustable ("Quotas for configuring and running an HTTP API"). */
  httpApiPayloadBytes: 10 * 1_048_576,
  /** S3 PutObject: "upload an object of up to 5 GB in a single operation" (S3 User Guide, "Uploading objects"). */
  s3PutObjectBytes: 5 * 1024 ** 3,
  /** DynamoDB: an item's attribute names plus values ("Item sizes and formats"). */
  dynamoItemBytes: 400 * 1024,
} as const;

/** Limits this API imposes on an event, checked before any write. */
export const LIMITS = {
  /**
   * The largest body any route may be configured to take (`maxEventBytes`, `maxWebhookBytes`):
   * API Gateway hands the body to Lambda inside a JSON event, escaped (about 7 % more for GitHub's
   * payloads), and Lambda takes 6 MB (AWS_LIMITS.lambdaSyncPayloadBytes); a read returns it the
   * same way. 5 MiB leaves that room; API Gateway's own 10 MB is never the binding limit.
   */
  maxConfigurableBodyBytes: 5 * 1_048_576,
  /** Webhook bodies accepted by default: GitHub and others send deliveries of a megabyte and more. */
  defaultWebhookBytes: 1_048_576,
  /** DynamoDB nests at most 32 levels; the `payload` map is level 1. */
  maxPayloadDepth: 32,
  /** DynamoDB's item size limit, in bytes of attribute names plus values. */
  maxItemBytes: AWS_LIMITS.dynamoItemBytes,
  eventTypeMaxLength: 100,
  idempotencyKeyMaxLength: 255,
  metadataMaxKeys: 50,
  metadataKeyMaxLength: 100,
  metadataValueMaxLength: 1024,
  /** POST /events/batch: events per request and decompressed body bytes. */
  batchMaxEvents: 100,
  batchMaxBytes: 1024 * 1024,
  /** GET /events and GET /inbox page sizes. */
  listDefaultLimit: 25,
  listMaxLimit: 100,
  /**
   * Per GET /events or /inbox request (ADR 0022): no Query starts after this many calls (or one
   * per shard, when a listing has more shards), nor once this many read units were consumed.
   */
  listMaxQueries: 32,
  listMaxReadUnits: 64,
  /**
   * Payload bytes of one GET /events or /inbox page: a page ends before passing it (with at least
   * one event), so the response stays inside Lambda's 6 MB even with JSON's escaping on the way out.
   */
  listMaxPageBytes: 4 * 1_048_576,
  /** Items per Query when an event_type filter discards most of what a Query reads. */
  listFilteredPageSize: 25,
} as const;

/** How long a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;
