/**
 * Schema evolution for the event catalogue: two snapshots of the catalogue (each type's version and
 * the JSON Schemas of its payload and metadata) compared field by field, every change classified
 * in a schema registry's compatibility modes:
 * - backward: the new schema accepts everything the old one did (events already stored or still
 *   sent by producers not yet upgraded pass); broken by a new required field, a narrowed type,
 *   a tighter bound, an optional field made required, a closed object;
 * - forward: the old schema accepts everything the new one allows (consumers not yet upgraded can
 *   read new events); broken by a removed required field, a widened type, a relaxed bound, a
 *   required field made optional, a new field on a closed object;
 * - full: both.
 * Renames show as one change (a field removed and one of the same schema added). Pure data in,
 * data out: `npm run catalog -- check` (cli/catalog.ts) loads the snapshots and prints the result.
 */
import * as z from "zod/mini";
import type { Catalog } from "../../handlers/lib/events/catalog";

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  [keyword: string]: unknown;
};

export interface TypeSnapshot {
  version: number;
  payload: JsonSchema;
  metadata?: JsonSchema;
}

/** What `npm run catalog -- snapshot` prints and `--against <file.json>` reads. */
export interface CatalogSnapshot {
  format: 1;
  types: Record<string, TypeSnapshot>;
}

export const COMPATIBILITY_MODES = ["backward", "forward", "full"] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];
type Direction = "backward" | "forward";

export interface Change {
  eventType: string;
  /** Where, as a field path: `payload.lines[].qty`. */
  path: string;
  kind:
    | "type_added"
    | "type_removed"
    | "field_added"
    | "field_removed"
    | "field_renamed"
    | "became_required"
    | "became_optional"
    | "type_narrowed"
    | "type_widened"
    | "type_changed"
    | "values_narrowed"
    | "values_widened"
    | "constraint_tightened"
    | "constraint_relaxed"
    | "object_closed"
    | "object_opened"
    | "schema_changed";
  detail: string;
  /** The compatibility directions this change breaks; empty when it is compatible in every mode. */
  breaks: Direction[];
}

export interface TypeVerdict {
  eventType: string;
  oldVersion?: number;
  newVersion?: number;
  changes: Change[];
  /** Breaking in the chosen mode. */
  breaking: boolean;
  /** Breaking, and the version was not raised: the check fails. */
  failed: boolean;
  /** A version that went down (always a failure). */
  versionLowered: boolean;
}

/** The snapshot of a catalogue: versions and the JSON Schemas producers are checked against. */
export function catalogSnapshot(catalog: Catalog): CatalogSnapshot {
  const schemaOf = (schema: z.core.$ZodType): JsonSchema => {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    return rest;
  };
  const types: Record<string, TypeSnapshot> = {};
  for (const [name, definition] of Object.entries(catalog.types)) {
    types[name] = { version: definition.version, payload: schemaOf(definition.payload), ...(definition.metadata ? { metadata: schemaOf(definition.metadata) } : {}) };
  }
  return { format: 1, types };
}

const breaksIn = (mode: CompatibilityMode, change: Change) => change.breaks.some((d) => mode === "full" || d === mode);

/** Every type of either snapshot, compared; sorted by event type. */
export function compareCatalogs(before: CatalogSnapshot, after: CatalogSnapshot, mode: CompatibilityMode): TypeVerdict[] {
  const names = [...new Set([...Object.keys(before.types), ...Object.keys(after.types)])].sort();
  return names.map((eventType) => {
    const old = before.types[eventType];
    const now = after.types[eventType];
    let changes: Change[];
    if (old === undefined) changes = [{ eventType, path: "", kind: "type_added", detail: `new event type at version ${now!.version}`, breaks: [] }];
    else if (now === undefined) changes = [{ eventType, path: "", kind: "type_removed", detail: "the event type is no longer declared: its producers' events become unknown types", breaks: ["backward", "forward"] }];
    else {
      changes = [...compareSchemas(eventType, "payload", old.payload, now.payload)];
      if (old.metadata || now.metadata) changes.push(...compareSchemas(eventType, "metadata", old.metadata ?? { type: "object" }, now.metadata ?? { type: "object" }));
    }
    const breaking = changes.some((c) => breaksIn(mode, c));
    const versionRaised = old !== undefined && now !== undefined && now.version > old.version;
    const versionLowered = old !== undefined && now !== undefined && now.version < old.version;
    return {
      eventType,
      ...(old ? { oldVersion: old.version } : {}),
      ...(now ? { newVersion: now.version } : {}),
      changes,
      breaking,
      failed: versionLowered || (breaking && !versionRaised),
      versionLowered,
    };
  });
}

/** Field-by-field differences of two JSON Schemas (zod's output: type, properties, required, items, enum, const, bounds). */
export function compareSchemas(eventType: string, path: string, old: JsonSchema, now: JsonSchema): Change[] {
  const changes: Change[] = [];
  const add = (kind: Change["kind"], detail: string, breaks: Direction[], where = path) => changes.push({ eventType, path: where, kind, detail, breaks });

  // Composite schemas (anyOf / oneOf / allOf, $ref) are compared as a whole: any change is breaking.
  for (const keyword of ["anyOf", "oneOf", "allOf", "$ref", "not"]) {
    if (JSON.stringify(old[keyword]) !== JSON.stringify(now[keyword])) {
      add("schema_changed", `"${keyword}" changed; composite schemas are compared as a whole`, ["backward", "forward"]);
      return changes;
    }
  }

  compareTypes(old, now, add);
  compareValues(old, now, add);
  compareBounds(old, now, add);

  if (isObject(old) || isObject(now)) compareObjects(eventType, path, old, now, add, changes);
  if (old.items || now.items) changes.push(...compareSchemas(eventType, `${path}[]`, old.items ?? {}, now.items ?? {}));
  return changes;
}

type Add = (kind: Change["kind"], detail: string, breaks: Direction[], where?: string) => void;

const isObject = (s: JsonSchema) => typeSet(s)?.has("object") === true || s.properties !== undefined;

/** The JSON types a schema allows; undefined means any. `integer` is a subset of `number`. */
function typeSet(s: JsonSchema): Set<string> | undefined {
  if (s.type === undefined) return undefined;
  return new Set(Array.isArray(s.type) ? s.type : [s.type]);
}

/** Does type set `a` allow every value `b` allows? */
function covers(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  return [...b].every((t) => a.has(t) || (t === "integer" && a.has("number")));
}

function compareTypes(old: JsonSchema, now: JsonSchema, add: Add) {
  const [a, b] = [typeSet(old), typeSet(now)];
  const widened = covers(b, a);
  const narrowed = covers(a, b);
  if (widened && narrowed) return;
  const show = (s: Set<string> | undefined) => (s === undefined ? "any" : [...s].join(" | "));
  if (widened) add("type_widened", `type ${show(a)} → ${show(b)}: old consumers may get values they do not accept`, ["forward"]);
  else if (narrowed) add("type_narrowed", `type ${show(a)} → ${show(b)}: values valid before are refused now`, ["backward"]);
  else add("type_changed", `type ${show(a)} → ${show(b)}`, ["backward", "forward"]);
}

function compareValues(old: JsonSchema, now: JsonSchema, add: Add) {
  const values = (s: JsonSchema): unknown[] | undefined => ("const" in s ? [s.const] : s.enum);
  const [a, b] = [values(old), values(now)];
  if (a === undefined && b === undefined) return;
  const key = (v: unknown) => JSON.stringify(v);
  const removed = a === undefined ? undefined : a.filter((v) => !(b ?? []).map(key).includes(key(v)));
  const added = b === undefined ? undefined : b.filter((v) => !(a ?? []).map(key).includes(key(v)));
  const narrowed = a === undefined || (b !== undefined && removed!.length > 0);
  const widened = b === undefined || (a !== undefined && added!.length > 0);
  if (a === undefined) add("values_narrowed", `now only ${b!.map(key).join(", ")}`, ["backward"]);
  else if (b === undefined) add("values_widened", `no longer limited to ${a.map(key).join(", ")}`, ["forward"]);
  else if (narrowed && widened) add("values_narrowed", `values ${removed!.map(key).join(", ")} removed and ${added!.map(key).join(", ")} added`, ["backward", "forward"]);
  else if (narrowed) add("values_narrowed", `values ${removed!.map(key).join(", ")} no longer allowed`, ["backward"]);
  else if (widened) add("values_widened", `values ${added!.map(key).join(", ")} added`, ["forward"]);
}

/** Lower bounds: a higher (or new) value tightens. Upper bounds: a lower (or new) one tightens. */
const LOWER = ["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"];
const UPPER = ["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"];
const EXACT = ["pattern", "format", "multipleOf"];

function compareBounds(old: JsonSchema, now: JsonSchema, add: Add) {
  for (const keyword of [...LOWER, ...UPPER]) {
    const [a, b] = [old[keyword] as number | undefined, now[keyword] as number | undefined];
    if (a === b) continue;
    const lower = LOWER.includes(keyword);
    const tighter = a === undefined || (b !== undefined && (lower ? b > a : b < a));
    if (tighter) add("constraint_tightened", `${keyword} ${a ?? "none"} → ${b ?? "none"}`, ["backward"]);
    else add("constraint_relaxed", `${keyword} ${a ?? "none"} → ${b ?? "none"}`, ["forward"]);
  }
  for (const keyword of EXACT) {
    const [a, b] = [old[keyword], now[keyword]];
    if (a === b) continue;
    if (a === undefined) add("constraint_tightened", `${keyword} ${JSON.stringify(b)} added`, ["backward"]);
    else if (b === undefined) add("constraint_relaxed", `${keyword} ${JSON.stringify(a)} removed`, ["forward"]);
    else add("constraint_tightened", `${keyword} ${JSON.stringify(a)} → ${JSON.stringify(b)}`, ["backward", "forward"]);
  }
}

function compareObjects(eventType: string, path: string, old: JsonSchema, now: JsonSchema, add: Add, changes: Change[]) {
  const [oldProps, newProps] = [old.properties ?? {}, now.properties ?? {}];
  const [oldRequired, newRequired] = [new Set(old.required ?? []), new Set(now.required ?? [])];
  const [oldClosed, newClosed] = [old.additionalProperties === false, now.additionalProperties === false];
  const field = (name: string) => (path === "" ? name : `${path}.${name}`);

  if (!oldClosed && newClosed) add("object_closed", "unknown fields are refused now", ["backward"]);
  if (oldClosed && !newClosed) add("object_opened", "unknown fields are allowed now", ["forward"]);

  const removed = Object.keys(oldProps).filter((k) => !(k in newProps));
  const added = Object.keys(newProps).filter((k) => !(k in oldProps));
  const renamedTo = new Map<string, string>();
  for (const name of removed) {
    const twin = added.find((candidate) => !new Set(renamedTo.values()).has(candidate) && JSON.stringify(newProps[candidate]) === JSON.stringify(oldProps[name]));
    if (twin !== undefined) renamedTo.set(name, twin);
  }

  const removalBreaks = (name: string): Direction[] => [...(oldRequired.has(name) ? (["forward"] as const) : []), ...(newClosed ? (["backward"] as const) : [])];
  const additionBreaks = (name: string): Direction[] => [...(newRequired.has(name) ? (["backward"] as const) : []), ...(oldClosed ? (["forward"] as const) : [])];

  for (const name of removed) {
    const twin = renamedTo.get(name);
    if (twin !== undefined) {
      const breaks = [...new Set([...removalBreaks(name), ...additionBreaks(twin)])];
      add("field_renamed", `"${name}" renamed to "${twin}"`, breaks.length > 0 ? breaks : ["forward"], field(name));
    } else {
      add("field_removed", `"${name}" removed${oldRequired.has(name) ? " (it was required)" : ""}`, removalBreaks(name), field(name));
    }
  }
  for (const name of added) {
    if ([...renamedTo.values()].includes(name)) continue;
    add("field_added", `"${name}" added, ${newRequired.has(name) ? "required" : "optional"}`, additionBreaks(name), field(name));
  }
  for (const name of Object.keys(oldProps).filter((k) => k in newProps)) {
    if (!oldRequired.has(name) && newRequired.has(name)) add("became_required", `"${name}" is required now`, ["backward"], field(name));
    if (oldRequired.has(name) && !newRequired.has(name)) add("became_optional", `"${name}" is optional now`, ["forward"], field(name));
    changes.push(...compareSchemas(eventType, field(name), oldProps[name]!, newProps[name]!));
  }
}
