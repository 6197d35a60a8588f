/**
 * The event catalogue as published documents, all generated from the zod schemas of
 * events/catalog.ts through zod 4's JSON Schema output (draft 2020-12, the dialect of OpenAPI 3.1):
 * - `catalogListing`: the body of GET /catalog, each declared type with its JSON Schemas;
 * - `catalogEventSchemas`: per-type event schemas for the OpenAPI document's components.
 * Built once per cold start by the function that serves them; the schemas are the validated ones,
 * so the documents cannot describe a catalogue other than the one enforced.
 */
import * as z from "zod/mini";
import type { Catalog, EventTypeDefinition } from "../events/catalog";

type Json = Record<string, unknown>;

/** A schema as JSON Schema, describing what producers send (`io: "input"`), without `$schema`. */
export function jsonSchemaOf(schema: z.core.$ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
}

export interface CatalogEntry {
  event_type: string;
  version: number;
  description: string;
  owner: string;
  deprecated?: string;
  payload_schema: Json;
  metadata_schema?: Json;
  examples: unknown[];
}

/** GET /catalog: the declared types, sorted by name, each with its JSON Schemas and examples. */
export function catalogListing(catalog: Catalog): { types: CatalogEntry[] } {
  const types = Object.entries(catalog.types)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([eventType, definition]) => catalogEntry(eventType, definition));
  return { types };
}

function catalogEntry(eventType: string, definition: EventTypeDefinition): CatalogEntry {
  return {
    event_type: eventType,
    version: definition.version,
    description: definition.description,
    owner: definition.owner,
    ...(definition.deprecated === undefined ? {} : { deprecated: definition.deprecated }),
    payload_schema: jsonSchemaOf(definition.payload),
    ...(definition.metadata === undefined ? {} : { metadata_schema: jsonSchemaOf(definition.metadata) }),
    examples: [...definition.examples],
  };
}

/** The component name of a declared type's event schema: `Event.order.created` (OpenAPI allows `.`). */
export function catalogSchemaName(eventType: string): string {
  return `Event.${eventType.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/**
 * One event schema per declared type: the envelope (`envelope`, the generic request schema) with
 * `event_type` fixed to the type and `payload` (and `metadata`, when declared) replaced by the
 * type's own schema. Self-contained objects, so a discriminator over them needs no allOf.
 */
export function catalogEventSchemas(catalog: Catalog, envelope: Json): Record<string, Json> {
  const properties = (envelope.properties ?? {}) as Record<string, Json>;
  return Object.fromEntries(
    Object.entries(catalog.types).map(([eventType, definition]) => {
      const example = definition.examples[0];
      return [
        catalogSchemaName(eventType),
        {
          ...envelope,
          description: `\`${eventType}\` version ${definition.version} (owner: ${definition.owner}). ${definition.description}`,
          properties: {
            ...properties,
            event_type: { type: "string", const: eventType },
            payload: jsonSchemaOf(definition.payload),
            ...(definition.metadata === undefined ? {} : { metadata: jsonSchemaOf(definition.metadata) }),
          },
          ...(example === undefined ? {} : { examples: [{ event_type: eventType, payload: example }] }),
        },
      ];
    }),
  );
}
