/**
 * The event catalogue: what each declared event type's `payload` (and optionally `metadata`) must
 * contain, and the one check every door runs against it. The envelope schema (schema.ts) says what
 * any event is; the catalogue says what an `order.created` is.
 *
 * - `defineEventType` / `defineCatalog`: the typed declaration API the program's catalogue
 *   (events/catalog.ts at the project root) is written with. Plain data plus zod/mini schemas, so
 *   the handler bundles import it at build time and never depend on Pulumi (docs/adr/0037).
 * - `checkCatalog`: one event input against the catalogue under the stack's policy (`catalogMode`,
 *   `unknownEventTypes`): store it as it is, store it flagged (`schema_violations`), or refuse it
 *   with a 400 whose JSON Pointers point into the event (`/payload/total`). The shared event writer
 *   calls it in `prepare`, so POST /events, each batch item, queued mode, webhooks and the SNS
 *   pipeline all get the same verdict from the same code.
 *
 * The check only reads: the payload is stored exactly as sent, never as zod's parsed output.
 */
import * as z from "zod/mini";
import type { ProblemInit } from "../http/http";
import type { CatalogMode, CatalogPolicy, UnknownEventTypePolicy } from "../ops/config";
import { EVENT_TYPE_PATTERN, schemaErrors, type SchemaError } from "./schema";

export type { CatalogMode, CatalogPolicy, UnknownEventTypePolicy };

/** Any zod 4 schema (zod/mini or classic) whose output is a JSON object. */
export type ObjectSchema = z.core.$ZodType<Record<string, unknown>, Record<string, unknown>>;
export type MetadataSchema = z.core.$ZodType<Record<string, string | number | boolean>, Record<string, string | number | boolean>>;

/** One declared event type. */
export interface EventTypeDefinition<P extends ObjectSchema = ObjectSchema, M extends MetadataSchema | undefined = MetadataSchema | undefined> {
  /** What happened, in one or two sentences; published in GET /catalog, the OpenAPI and AsyncAPI documents. */
  readonly description: string;
  /** The team or person to ask about this type (and who approves a breaking change). */
  readonly owner: string;
  /**
   * A positive integer, raised on every breaking change (`npm run catalog -- check` insists).
   * Stored with each checked event as `catalog.version`.
   */
  readonly version: number;
  readonly payload: P;
  /** Optional: when absent, metadata is only checked by the envelope schema. */
  readonly metadata?: M;
  /** Valid payloads (the tests and `npm run catalog -- check` parse each one); at least one. */
  readonly examples: readonly [z.input<P>, ...z.input<P>[]];
  /** Set when producers should move to another type or version. */
  readonly deprecated?: string;
}

/**
 * What `defineEventType` takes: the definition, where `payload` and `metadata` may also be a
 * function that builds the schema. Building a zod schema costs about a millisecond per ten fields
 * at cold start; a function defers that to the first event of the type, so a catalogue of many
 * types does not slow every cold start (docs/BENCHMARKS.md, section 7).
 */
export type EventTypeInit<P extends ObjectSchema, M extends MetadataSchema | undefined> = Omit<EventTypeDefinition<P, M>, "payload" | "metadata"> & {
  readonly payload: P | (() => P);
  readonly metadata?: M | (() => M);
};

/** Declares one event type, typed, so the catalogue's types carry through; a schema given as a function is built once, on first use. */
export function defineEventType<P extends ObjectSchema, M extends MetadataSchema | undefined = undefined>(definition: EventTypeInit<P, M>): EventTypeDefinition<P, M> {
  if (!Number.isInteger(definition.version) || definition.version < 1) {
    throw new Error(`event type version must be a positive integer, got ${definition.version}`);
  }
  const { payload, metadata, ...rest } = definition;
  const result = { ...rest } as EventTypeDefinition<P, M>;
  defineSchema(result, "payload", payload);
  if (metadata !== undefined) defineSchema(result, "metadata", metadata);
  return result;
}

function defineSchema<T>(target: object, key: string, value: T | (() => T)): void {
  if (typeof value !== "function") {
    Object.defineProperty(target, key, { value, enumerable: true });
    return;
  }
  let built: T | undefined;
  Object.defineProperty(target, key, { get: () => (built ??= (value as () => T)()), enumerable: true });
}

export type EventTypeMap = Record<string, EventTypeDefinition<ObjectSchema, MetadataSchema | undefined>>;

export interface Catalog<T extends EventTypeMap = EventTypeMap> {
  readonly types: T;
}

/** The catalogue: event type names (the `event_type` producers send) to their definitions. */
export function defineCatalog<T extends EventTypeMap>(types: T): Catalog<T> {
  for (const name of Object.keys(types)) {
    if (!EVENT_TYPE_PATTERN.test(name) || name.length > 100) throw new Error(`"${name}" is not a valid event_type`);
  }
  return { types };
}

/** The declared event type names of a catalogue. */
export type CatalogEventType<C extends Catalog> = keyof C["types"] & string;

/** An event of one declared type, as producers send it and inline consumers receive it. */
export type CatalogEvent<C extends Catalog, K extends CatalogEventType<C>> = {
  event_type: K;
  payload: z.output<C["types"][K]["payload"]>;
  metadata?: C["types"][K]["metadata"] extends z.core.$ZodType ? z.output<C["types"][K]["metadata"]> : Record<string, string | number | boolean>;
  occurred_at?: string;
};

/** What the check stored with an event: the version of its type it was checked against. */
export type CatalogStamp = { version: number; valid: boolean } | { declared: false };

/** The check's verdict: store (perhaps flagged), or refuse with a 400. */
export type CatalogVerdict =
  | { ok: true; stamp?: CatalogStamp; violations?: SchemaError[] }
  | { ok: false; problem: ProblemInit };

/** The part of an event the catalogue looks at. */
export interface CatalogSubject {
  event_type: string;
  payload: unknown;
  metadata?: unknown;
}

/** Called for every event stored flagged (warn), to count it as a metric. */
export type CatalogFindingSink = (finding: { kind: "schema_violation" | "unknown_event_type"; eventType: string }) => void;

/**
 * One event against the catalogue under a policy. Pointers are relative to the event
 * (`/payload/lines/0/qty`); a caller whose document nests the event prefixes its own path.
 */
export function checkCatalog(catalog: Catalog, policy: CatalogPolicy, event: CatalogSubject, onFinding?: CatalogFindingSink): CatalogVerdict {
  if (policy.mode === "off" && policy.unknownEventTypes === "allow") return { ok: true };
  const definition = Object.hasOwn(catalog.types, event.event_type) ? catalog.types[event.event_type] : undefined;
  if (definition === undefined) return unknownType(policy.unknownEventTypes, event.event_type, onFinding);
  if (policy.mode === "off") return { ok: true };

  const violations = payloadViolations(definition, event);
  if (violations.length === 0) return { ok: true, stamp: { version: definition.version, valid: true } };
  if (policy.mode === "enforce") {
    return {
      ok: false,
      problem: {
        status: 400,
        code: "schema_violation",
        title: "Event does not match its declared schema",
        detail: `${event.event_type} version ${definition.version} in the event catalogue (GET /catalog)`,
        errors: violations,
      },
    };
  }
  onFinding?.({ kind: "schema_violation", eventType: event.event_type });
  return { ok: true, stamp: { version: definition.version, valid: false }, violations };
}

/**
 * Violations reported (and, under warn, stored) per event: an array of 5,000 wrong items must not
 * turn into a 5,000-entry attribute that makes the item too large to store (a 413 under warn).
 */
export const MAX_REPORTED_VIOLATIONS = 20;

/** The payload's and metadata's errors, as pointers into the event; at most MAX_REPORTED_VIOLATIONS, then one that counts the rest. */
export function payloadViolations(definition: EventTypeDefinition, event: Pick<CatalogSubject, "payload" | "metadata">): SchemaError[] {
  const errors: SchemaError[] = [];
  const payload = z.safeParse(definition.payload, event.payload);
  if (!payload.success) errors.push(...schemaErrors(payload.error, "document", "/payload"));
  if (definition.metadata !== undefined) {
    const metadata = z.safeParse(definition.metadata, event.metadata ?? {});
    if (!metadata.success) errors.push(...schemaErrors(metadata.error, "document", "/metadata"));
  }
  if (errors.length <= MAX_REPORTED_VIOLATIONS) return errors;
  const more = errors.length - MAX_REPORTED_VIOLATIONS;
  return [...errors.slice(0, MAX_REPORTED_VIOLATIONS), { pointer: "", code: "too_many_violations", detail: `${more} more violation${more === 1 ? "" : "s"} not listed` }];
}

function unknownType(policy: UnknownEventTypePolicy, eventType: string, onFinding?: CatalogFindingSink): CatalogVerdict {
  if (policy === "allow") return { ok: true };
  const error: SchemaError = { pointer: "/event_type", code: "unknown_event_type", detail: `"${eventType}" is not declared in the event catalogue` };
  if (policy === "reject") {
    return { ok: false, problem: { status: 400, code: "unknown_event_type", title: "Event type not declared in the catalogue", detail: "GET /catalog lists the declared types", errors: [error] } };
  }
  onFinding?.({ kind: "unknown_event_type", eventType });
  return { ok: true, stamp: { declared: false }, violations: [error] };
}
