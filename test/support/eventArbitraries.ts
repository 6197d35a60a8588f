/**
 * fast-check generators of request bodies for POST /events and POST /events/batch, each with the
 * answer the contract (DESIGN.md) demands: a valid event with what must be stored, an invalid one
 * with the status, code and pointer of the 4xx, or arbitrary input that may get anything but a 5xx.
 *
 * Documents are built as models (object members in order, duplicates allowed, numbers as literal
 * text) and written by our own serializer, so the fuzzer controls exactly which bytes are sent.
 * Idempotency keys are placeholders (`@@K<n>@@`) that the runner replaces with unique keys.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { ExactNumber, normalizeJson } from "./exactJson";

type JsonModel =
  | { kind: "null" }
  | { kind: "boolean"; value: boolean }
  | { kind: "string"; value: string }
  /** Written verbatim between quotes: a raw lone surrogate survives only this way. */
  | { kind: "raw-string"; text: string }
  | { kind: "number"; literal: string }
  | { kind: "array"; items: JsonModel[] }
  | { kind: "object"; members: [string, JsonModel][] };

type ObjectModel = Extract<JsonModel, { kind: "object" }>;

/** What a stored event must read back as: the client's fields, normalized (exactJson.normalizeJson). */
export interface ExpectedEvent {
  event_type: string;
  payload: unknown;
  metadata?: unknown;
  occurred_at?: string;
}

export type Expectation =
  | { kind: "stored"; event: ExpectedEvent }
  | { kind: "rejected"; status: number; codes: readonly string[]; pointer?: string; pointerPrefix?: string; fieldCode?: string }
  /** Arbitrary input: any answer but a 5xx; a 2xx must store what the text says. */
  | { kind: "any" }
  | { kind: "batch-items"; items: ({ status: 201; event: ExpectedEvent } | { status: 400 })[] };

export type Transport = "text" | "base64" | "gzip";

export interface IngestSample {
  route: "POST /events" | "POST /events/batch";
  /** What kind of input this is, for failure messages and statistics. */
  label: string;
  /** The body as text; `bytes` wins when set (invalid UTF-8, arbitrary bytes). */
  text: string;
  bytes?: Uint8Array;
  transport: Transport;
  headers: Record<string, string>;
  /** Send the identical request a second time and expect 200 duplicate. */
  repeat: boolean;
  expect: Expectation;
}

/** Keys that may never be stored (DESIGN.md), and those the schema reserves. */
const FORBIDDEN_KEYS = ["__proto__", "constructor", "prototype"] as const;
const SERVER_OWNED_FIELDS = ["event_id", "created_at", "received_at", "request_id", "source", "status", "delivery_attempts", "delivered_at", "ttl", "schema_version"] as const;
const MAX_EVENT_BYTES = 65_536;

/** Allowed keys that look dangerous to a careless marshaller, merger or templating step. */
const TRICKY_KEYS = [
  "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "__lookupSetter__", "__proto__ ", " constructor",
  "Prototype", "CONSTRUCTOR", "length", "N", "S", "M", "L", "NULL", "BOOL", "B", "SS", "NS", "$", "$ref", "~", "/", "~1", "a/b", "0", "-1",
  "\u0000", "\u2028", "🚀", "€", "ключ", "\\", '"', "'", "${x}", "{{x}}", "<script>",
];
const TRICKY_STRINGS = ["", "\u0000", "\\", '"', "\u2028\u2029", "</script>", "%s%n", "${7*7}", "' OR '1'='1", "\r\n", "€€€", "🚀", "\ufeff", "\uffff", "[object Object]"];

// ---------------------------------------------------------------------------------------------
// Writing models
// ---------------------------------------------------------------------------------------------

interface TextStyle {
  /** Whitespace around structural characters. */
  space: string;
  /** Write every non-ASCII character as a \u escape. */
  escapeNonAscii: boolean;
}

const plainStyle: TextStyle = { space: "", escapeNonAscii: false };

function quote(text: string, style: TextStyle): string {
  const quoted = JSON.stringify(text);
  return style.escapeNonAscii ? quoted.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : quoted;
}

function writeModel(model: JsonModel, style: TextStyle = plainStyle): string {
  const s = style.space;
  switch (model.kind) {
    case "null":
      return "null";
    case "boolean":
      return String(model.value);
    case "string":
      return quote(model.value, style);
    case "raw-string":
      return `"${model.text}"`;
    case "number":
      return model.literal;
    case "array":
      return `[${s}${model.items.map((item) => writeModel(item, style)).join(`,${s}`)}${s}]`;
    case "object":
      return `{${s}${model.members.map(([key, value]) => `${quote(key, style)}${s}:${s}${writeModel(value, style)}`).join(`,${s}`)}${s}}`;
  }
}

/** The value a model stands for, normalized for deep comparison (last member wins, as in JSON.parse). */
function expectedValue(model: JsonModel): unknown {
  return normalizeJson(toValue(model));
}

function toValue(model: JsonModel): unknown {
  switch (model.kind) {
    case "null":
      return null;
    case "boolean":
    case "string":
      return model.value;
    case "raw-string":
      return model.text;
    case "number":
      return new ExactNumber(model.literal);
    case "array":
      return model.items.map(toValue);
    case "object":
      return Object.fromEntries(model.members.map(([k, v]) => [k, toValue(v)]));
  }
}

const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** Every object in `model` with its JSON Pointer, outermost first. */
function objectsIn(model: JsonModel, pointer = ""): { node: ObjectModel; pointer: string }[] {
  if (model.kind === "array") return model.items.flatMap((item, i) => objectsIn(item, `${pointer}/${i}`));
  if (model.kind !== "object") return [];
  return [{ node: model, pointer }, ...model.members.flatMap(([key, value]) => objectsIn(value, `${pointer}/${escapePointer(key)}`))];
}

const clone = <T>(value: T): T => structuredClone(value);
const str = (value: string): JsonModel => ({ kind: "string", value });
const num = (literal: string): JsonModel => ({ kind: "number", literal });
const obj = (members: [string, JsonModel][]): ObjectModel => ({ kind: "object", members });

function freshKey(node: ObjectModel, base: string): string {
  let key = base;
  for (let i = 0; node.members.some(([k]) => k === key); i++) key = `${base}${i}`;
  return key;
}

// ---------------------------------------------------------------------------------------------
// Valid pieces
// ---------------------------------------------------------------------------------------------

const wellFormed = (s: string) => s.isWellFormed();

const keyArb: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 6 }) },
    { weight: 2, arbitrary: fc.constantFrom(...TRICKY_KEYS) },
  )
  .filter((k) => k !== "" && wellFormed(k) && !(FORBIDDEN_KEYS as readonly string[]).includes(k));

const stringValueArb = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: "grapheme", maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }).filter(wellFormed) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
);

/** DynamoDB numbers: up to 38 significant digits, magnitude 1e-130 to just under 1e126, no -0. */
function inDynamoRange(x: number): boolean {
  const magnitude = Math.abs(x);
  return !Object.is(x, -0) && (magnitude === 0 || (magnitude >= 1e-130 && magnitude < 1e126));
}

/** Number literals DynamoDB can hold exactly, spelled in every way JSON allows. */
const numberLiteralArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer().map(String) },
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).filter(inDynamoRange).map(String) },
  { weight: 2, arbitrary: fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }).map(String) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        negative: fc.boolean(),
        digits: fc.stringMatching(/^[1-9][0-9]{0,37}$/),
        exponent: fc.integer({ min: -130, max: 125 }),
        positional: fc.boolean(),
        upper: fc.boolean(),
        trailingZeros: fc.nat(3),
      })
      .map(({ negative, digits, exponent, positional, upper, trailingZeros }) => {
        const sign = negative ? "-" : "";
        const zeros = "0".repeat(trailingZeros);
        if (!positional || Math.abs(exponent) > 40) {
          const rest = digits.slice(1) + (digits.length > 1 ? zeros : "");
          return `${sign}${digits[0]}${rest ? `.${rest}` : ""}${upper ? "E" : "e"}${exponent >= 0 && upper ? "+" : ""}${exponent}`;
        }
        if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}${zeros}`;
        if (exponent >= digits.length - 1) return `${sign}${digits}${"0".repeat(exponent - digits.length + 1)}${trailingZeros ? `.${zeros}` : ""}`;
        return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}${zeros}`;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom("0", "0.0", "0e0", "0E+5", "0.000e-7", "1e-130", "-1e-130", "9.9999999999999999999999999999999999999e125") },
);

const leafArb: fc.Arbitrary<JsonModel> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<JsonModel>({ kind: "null" }) },
  { weight: 1, arbitrary: fc.boolean().map((value): JsonModel => ({ kind: "boolean", value })) },
  { weight: 4, arbitrary: stringValueArb.map(str) },
  { weight: 4, arbitrary: numberLiteralArb.map(num) },
);

function objectOf(value: fc.Arbitrary<JsonModel>, maxLength = 5): fc.Arbitrary<ObjectModel> {
  return fc.uniqueArray(fc.tuple(keyArb, value), { selector: ([key]) => key, maxLength }).map(obj);
}

const { value: jsonValueArb } = fc.letrec<{ value: JsonModel; array: JsonModel; object: JsonModel }>((tie) => ({
  value: fc.oneof({ maxDepth: 4, depthSize: "small", depthIdentifier: "payload" }, leafArb, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4, depthIdentifier: "payload" }).map((items): JsonModel => ({ kind: "array", items })),
  object: objectOf(tie("value"), 4),
}));

/** An object whose deepest container is at `levels` (the object itself is level 1). */
function chain(levels: number, kinds: boolean[], leaf: JsonModel): ObjectModel {
  let inner = leaf;
  for (let level = levels; level >= 2; level--) {
    inner = kinds[level % kinds.length] ? { kind: "array", items: [inner] } : obj([["d", inner]]);
  }
  return obj([["d", inner]]);
}

const chainArb = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), leafArb).map(([levels, kinds, leaf]) => chain(levels, kinds, leaf));

/** Payloads: mostly broad and shallow, sometimes a chain right up to DynamoDB's 32 levels. */
const payloadArb: fc.Arbitrary<ObjectModel> = fc.oneof({ weight: 9, arbitrary: objectOf(jsonValueArb) }, { weight: 1, arbitrary: chainArb(2, 32) });

const metadataArb: fc.Arbitrary<ObjectModel> = objectOf(
  fc.oneof(
    stringValueArb.map(str),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter(inDynamoRange).map((x) => num(String(x))),
    fc.integer().map((x) => num(String(x))),
    fc.boolean().map((value): JsonModel => ({ kind: "boolean", value })),
  ),
  6,
).map((m) => obj(m.members.filter(([key]) => key.length <= 100)));

const occurredAtArb = fc
  .tuple(
    fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }),
    fc.constantFrom("Z", "+00:00", "+01:00", "-05:30", "+14:00", "-12:00"),
    fc.boolean(),
  )
  .map(([date, offset, millis]) => date.toISOString().replace(millis ? /Z$/ : /\.\d{3}Z$/, offset));

const eventTypeArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/);

interface ValidEvent {
  model: ObjectModel;
  expected: ExpectedEvent;
}

/** A valid event, its top-level members in any order. */
const validEventArb: fc.Arbitrary<ValidEvent> = fc
  .record({
    event_type: eventTypeArb,
    payload: payloadArb,
    metadata: fc.option(metadataArb, { nil: undefined }),
    occurred_at: fc.option(occurredAtArb, { nil: undefined }),
    order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  })
  .map(({ event_type, payload, metadata, occurred_at, order }) => {
    const members: [string, JsonModel, number][] = [
      ["event_type", str(event_type), order[0]!],
      ["payload", payload, order[1]!],
      ...(metadata ? [["metadata", metadata, order[2]!] as [string, JsonModel, number]] : []),
      ...(occurred_at ? [["occurred_at", str(occurred_at), order[3]!] as [string, JsonModel, number]] : []),
    ];
    members.sort((a, b) => a[2] - b[2]);
    return {
      model: obj(members.map(([k, v]) => [k, v])),
      expected: {
        event_type,
        payload: expectedValue(payload),
        ...(metadata ? { metadata: expectedValue(metadata) } : {}),
        ...(occurred_at ? { occurred_at } : {}),
      },
    };
  });

const styleArb: fc.Arbitrary<TextStyle> = fc.record({ space: fc.constantFrom("", "", " ", "\n\t", "\r\n  "), escapeNonAscii: fc.boolean() });
const contentTypeArb = fc.constantFrom("application/json", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/cloudevents+json", "application/vnd.api+json");
const transportArb = fc.constantFrom<Transport>("text", "text", "text", "text", "text", "text", "base64", "gzip");

// ---------------------------------------------------------------------------------------------
// Invalid events: a valid one with exactly one defect
// ---------------------------------------------------------------------------------------------

type Defect = (event: ObjectModel, pick: number, pick2: number) => { model?: ObjectModel; text?: (style: TextStyle) => string; expect: Extract<Expectation, { kind: "rejected" }>; rawLoneSurrogate?: true };

const rejected = (status: number, codes: string | readonly string[], extra: { pointer?: string; pointerPrefix?: string; fieldCode?: string } = {}) =>
  ({ kind: "rejected" as const, status, codes: typeof codes === "string" ? [codes] : codes, ...extra });

/** Inserts `entry` into one of the event's objects (top level, payload, metadata or nested); returns its container's pointer. */
function insertSomewhere(event: ObjectModel, pick: number, pick2: number, entry: (node: ObjectModel) => [string, JsonModel]) {
  const model = clone(event);
  const objects = objectsIn(model);
  const { node, pointer } = objects[pick % objects.length]!;
  const added = entry(node);
  node.members.splice(pick2 % (node.members.length + 1), 0, added);
  return { model, pointer, key: added[0] };
}

const BAD_NUMBERS: [string, string][] = [
  ["-0", "number_not_exact"],
  ["-0.0", "number_not_exact"],
  ["-0e10", "number_not_exact"],
  ["-0.000E-3", "number_not_exact"],
  ["1e400", "number_out_of_range"],
  ["1e126", "number_out_of_range"],
  ["-10e125", "number_out_of_range"],
  ["1e-131", "number_out_of_range"],
  ["9.99e-131", "number_out_of_range"],
  ["1e99999999999999999999", "number_out_of_range"],
  ["123456789012345678901234567890123456789", "number_not_exact"],
  ["-1.00000000000000000000000000000000000001", "number_not_exact"],
  ["1".repeat(400), "number_not_exact"],
];
const LONE_SURROGATES = ["\ud800", "a\udfff", "\udc00\ud800", "x\ud83d"];
const SMALL_VALUE = obj([["v", num("1")]]);

const DEFECTS: Record<string, Defect> = {
  "forbidden key": (e, p, q) => {
    const { model, pointer, key } = insertSomewhere(e, p, q, () => [FORBIDDEN_KEYS[q % 3]!, q % 2 ? SMALL_VALUE : obj([["name", str("String")]])]);
    return { model, expect: rejected(400, "forbidden_key", { pointer: `${pointer}/${key}` }) };
  },
  "duplicate key": (e, p, q) => {
    const model = clone(e);
    const candidates = objectsIn(model).filter((o) => o.node.members.length > 0);
    const { node, pointer } = candidates[p % candidates.length]!;
    const index = q % node.members.length;
    const key = node.members[index]![0];
    node.members.splice(index + 1 + (q % (node.members.length - index)), 0, [key, num("1")]);
    return { model, expect: rejected(400, "duplicate_key", { pointer: `${pointer}/${escapePointer(key)}` }) };
  },
  "empty key": (e, p, q) => {
    const { model, pointer } = insertSomewhere(e, p, q, () => ["", str("x")]);
    return { model, expect: rejected(400, "empty_key", { pointer: `${pointer}/` }) };
  },
  "unstorable number": (e, p, q) => {
    const [literal, code] = BAD_NUMBERS[q % BAD_NUMBERS.length]!;
    const { model, pointer, key } = insertSomewhere(e, p, q, (node) => [freshKey(node, "n"), num(literal)]);
    return { model, expect: rejected(400, code, { pointer: `${pointer}/${escapePointer(key)}` }) };
  },
  "escaped lone surrogate in a value": (e, p, q) => {
    const { model, pointer, key } = insertSomewhere(e, p, q, (node) => [freshKey(node, "s"), str(LONE_SURROGATES[q % LONE_SURROGATES.length]!)]);
    return { model, expect: rejected(400, "invalid_unicode", { pointer: `${pointer}/${escapePointer(key)}` }) };
  },
  "raw lone surrogate in a value": (e, p, q) => {
    const { model, pointer, key } = insertSomewhere(e, p, q, (node) => [freshKey(node, "s"), { kind: "raw-string", text: LONE_SURROGATES[q % LONE_SURROGATES.length]! }]);
    return { model, rawLoneSurrogate: true, expect: rejected(400, "invalid_unicode", { pointer: `${pointer}/${escapePointer(key)}` }) };
  },
  "lone surrogate in a key": (e, p, q) => {
    const { model, pointer } = insertSomewhere(e, p, q, () => [`k${LONE_SURROGATES[q % LONE_SURROGATES.length]}`, num("1")]);
    return { model, expect: rejected(400, "invalid_unicode", { pointer }) };
  },
  "nesting deeper than 32 levels": (e, p, q) => {
    const model = clone(e);
    const payload = model.members.find(([k]) => k === "payload")!;
    payload[1] = chain(33 + (p % 200), [q % 2 === 0, q % 3 === 0, true, false], num("1"));
    return { model, expect: rejected(400, "nesting_too_deep", { pointerPrefix: "/payload" }) };
  },
  "server-owned field": (e, p, q) => {
    const model = clone(e);
    const field = SERVER_OWNED_FIELDS[p % SERVER_OWNED_FIELDS.length]!;
    model.members.splice(q % (model.members.length + 1), 0, [field, field === "source" ? obj([["api_key_id", str("forged")]]) : str("forged")]);
    return { model, expect: rejected(400, "validation_failed", { pointer: `/${field}`, fieldCode: "server_owned_field" }) };
  },
  "unknown top-level field": (e, p, q) => {
    const model = clone(e);
    const key = ["idempotency_key", "eventType", "Payload", "status_shard", "request_sha256", "data", "🚀"][p % 7]!;
    model.members.splice(q % (model.members.length + 1), 0, [key, num("1")]);
    return { model, expect: rejected(400, "validation_failed", { pointer: `/${escapePointer(key)}`, fieldCode: "unknown_field" }) };
  },
  "invalid event_type": (e, p) => {
    const model = clone(e);
    const bad: JsonModel[] = [str(""), str("-created"), str("order created"), str("é"), str("x".repeat(101)), str("a\u0000b"), num("42"), { kind: "null" }, obj([]), { kind: "array", items: [str("a")] }];
    model.members.find(([k]) => k === "event_type")![1] = bad[p % bad.length]!;
    return { model, expect: rejected(400, "validation_failed", { pointer: "/event_type" }) };
  },
  "payload that is not an object": (e, p) => {
    const model = clone(e);
    const bad: JsonModel[] = [{ kind: "array", items: [] }, str("{}"), num("1"), { kind: "null" }, { kind: "boolean", value: true }];
    model.members.find(([k]) => k === "payload")![1] = bad[p % bad.length]!;
    return { model, expect: rejected(400, "validation_failed", { pointer: "/payload" }) };
  },
  "missing required field": (e, p) => {
    const field = p % 2 ? "payload" : "event_type";
    return { model: obj(clone(e).members.filter(([k]) => k !== field)), expect: rejected(400, "validation_failed", { pointer: `/${field}` }) };
  },
  "invalid metadata": (e, p) => {
    const model = clone(e);
    const bad: JsonModel[] = [
      obj([["tenant", obj([["id", num("1")]])]]),
      obj([["tenant", { kind: "null" }]]),
      obj([["tenant", { kind: "array", items: [] }]]),
      obj([["id", num("12345678901234567890")]]),
      obj([["k".repeat(101), str("x")]]),
      obj([["note", str("x".repeat(1025))]]),
      obj(Array.from({ length: 51 }, (_, i): [string, JsonModel] => [`k${i}`, num(String(i))])),
      { kind: "array", items: [] },
      str("tenant=acme"),
    ];
    const existing = model.members.find(([k]) => k === "metadata");
    if (existing) existing[1] = bad[p % bad.length]!;
    else model.members.push(["metadata", bad[p % bad.length]!]);
    return { model, expect: rejected(400, "validation_failed", { pointerPrefix: "/metadata" }) };
  },
  "invalid occurred_at": (e, p) => {
    const model = clone(e);
    const bad: JsonModel[] = [str("yesterday"), str("2026-01-01T00:00:00"), str("2026-13-01T00:00:00Z"), str(""), num("1767225600")];
    const existing = model.members.find(([k]) => k === "occurred_at");
    if (existing) existing[1] = bad[p % bad.length]!;
    else model.members.push(["occurred_at", bad[p % bad.length]!]);
    return { model, expect: rejected(400, "validation_failed", { pointer: "/occurred_at" }) };
  },
  "truncated JSON": (e, p) => ({
    text: (style) => {
      const text = writeModel(e, style);
      return text.slice(0, p % text.lastIndexOf("}"));
    },
    // A cut inside "-0.5" leaves "-0", which the reader refuses before it reaches the end.
    expect: rejected(400, ["invalid_json", "number_not_exact"]),
  }),
  "data after the JSON value": (e, p) => ({
    text: (style) => writeModel(e, style) + ["x", "{}", ",", "]", " 1", "\u0000", "}"][p % 7],
    expect: rejected(400, "invalid_json"),
  }),
  "body over maxEventBytes": (e, p) => ({
    text: (style) => {
      const text = writeModel(e, style);
      // `{"pad":"xxx…",` + the rest: one byte to 99 bytes over the limit.
      const fill = MAX_EVENT_BYTES - Buffer.byteLength(text, "utf8") - '"pad":"",'.length + 1 + (p % 99);
      return `{"pad":"${"x".repeat(Math.max(fill, 0))}",${text.slice(1)}`;
    },
    expect: rejected(413, "payload_too_large"),
  }),
};

/** Defects the strict JSON reader catches: in a batch they fail the whole body. */
const READER_DEFECTS = ["forbidden key", "duplicate key", "empty key", "unstorable number", "escaped lone surrogate in a value", "lone surrogate in a key", "nesting deeper than 32 levels"];
/** Defects the schema catches: in a batch they fail only their item. */
const SCHEMA_DEFECTS = ["server-owned field", "invalid event_type", "payload that is not an object", "missing required field", "invalid metadata", "invalid occurred_at"];

const defectArb = (names: readonly string[]) => fc.tuple(validEventArb, fc.constantFrom(...names), fc.nat(), fc.nat());

// ---------------------------------------------------------------------------------------------
// POST /events samples
// ---------------------------------------------------------------------------------------------

const baseHeaders = (contentType: string) => ({ "content-type": contentType });

const validSingleArb: fc.Arbitrary<IngestSample> = fc
  .record({ event: validEventArb, style: styleArb, transport: transportArb, contentType: contentTypeArb, idempotency: fc.constantFrom("none", "none", "header", "repeat") })
  .map(({ event, style, transport, contentType, idempotency }) => ({
    route: "POST /events",
    label: `valid (${transport}${idempotency === "none" ? "" : `, idempotency ${idempotency}`})`,
    text: writeModel(event.model, style),
    transport,
    headers: { ...baseHeaders(contentType), ...(idempotency === "none" ? {} : { "idempotency-key": "@@K0@@" }) },
    repeat: idempotency === "repeat",
    expect: { kind: "stored", event: event.expected },
  }));

const defectiveSingleArb: fc.Arbitrary<IngestSample> = fc
  .tuple(defectArb(Object.keys(DEFECTS)), styleArb, transportArb, contentTypeArb)
  .map(([[event, name, p, q], style, transport, contentType]) => {
    const defect = DEFECTS[name]!(event.model, p, q);
    return {
      route: "POST /events",
      label: `defect: ${name}`,
      text: defect.text ? defect.text(style) : writeModel(defect.model!, style),
      // Re-encoding a raw lone surrogate as UTF-8 would turn it into U+FFFD, a valid character.
      transport: defect.rawLoneSurrogate ? "text" : transport,
      headers: baseHeaders(contentType),
      repeat: false,
      expect: defect.expect,
    };
  });

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]];

/** Defects of the transport around a valid event: headers, encodings, bytes. */
const transportDefectArb: fc.Arbitrary<IngestSample> = fc
  .tuple(validEventArb, fc.nat(), fc.constantFrom("idempotency key", "content type", "content encoding", "invalid UTF-8", "truncated gzip"))
  .map(([event, p, name]): IngestSample => {
    const text = writeModel(event.model);
    const sample = { route: "POST /events" as const, label: `transport defect: ${name}`, text, transport: "text" as Transport, headers: baseHeaders("application/json") as Record<string, string>, repeat: false };
    switch (name) {
      case "idempotency key":
        return { ...sample, headers: { ...sample.headers, "idempotency-key": ["", "k".repeat(256), "clé", "a\tb", "\u0000", "🚀", "k\u007f"][p % 7]! }, expect: rejected(400, "invalid_idempotency_key") };
      case "content type": {
        const contentType = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/json", "application/jsonp", "json", "", "application/json+xml", undefined][p % 10];
        const headers: Record<string, string> = contentType === undefined ? {} : { "content-type": contentType };
        return { ...sample, headers, expect: rejected(415, "unsupported_media_type") };
      }
      case "content encoding":
        return { ...sample, headers: { ...sample.headers, "content-encoding": ["br", "deflate", "gzip, gzip", "compress", "x-gzip", "zstd"][p % 6]! }, expect: rejected(415, "unsupported_content_encoding") };
      case "invalid UTF-8": {
        const marker = "@@INVALID@@";
        const withMarker = obj([...clone(event.model).members, ["bytes", str(marker)]]);
        const [before, after] = writeModel(withMarker).split(marker) as [string, string];
        const bytes = Buffer.concat([Buffer.from(before), Buffer.from(INVALID_UTF8[p % INVALID_UTF8.length]!), Buffer.from(after)]);
        return { ...sample, bytes, transport: p % 2 ? "gzip" : "base64", expect: rejected(400, "invalid_encoding") };
      }
      default: {
        const zipped = gzipSync(Buffer.from(text));
        return { ...sample, bytes: zipped.subarray(0, 10 + (p % (zipped.length - 10))), transport: "base64", headers: { ...sample.headers, "content-encoding": "gzip" }, expect: rejected(400, "invalid_encoding") };
      }
    }
  });

const JSON_ALPHABET = [...'{}[]":,0123456789-+.eE tfnrulas\\/ubd\n'];

/** Text made of JSON's own characters: mostly invalid JSON that gets deep into the reader. */
export function jsonNoiseArb(maxLength: number): fc.Arbitrary<string> {
  // An array of characters, not fc.string with a custom unit: the latter is ~100× slower to generate.
  return fc.array(fc.constantFrom(...JSON_ALPHABET), { maxLength }).map((chars) => chars.join(""));
}

/** Anything at all: arbitrary JSON, JSON-ish noise, arbitrary text and bytes. */
const arbitrarySingleArb: fc.Arbitrary<IngestSample> = fc.oneof<fc.Arbitrary<{ label: string; text: string; bytes?: Uint8Array }>[]>(
  fc.json({ maxDepth: 4 }).map((text) => ({ label: "arbitrary JSON", text })),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }).map((payload) => ({ label: "arbitrary JSON payload", text: `{"event_type":"fuzz.any","payload":${JSON.stringify(payload)}}` })),
  jsonNoiseArb(80).map((text) => ({ label: "JSON-alphabet noise", text })),
  fc.string({ unit: "binary", maxLength: 200 }).map((text) => ({ label: "arbitrary text", text })),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ label: "arbitrary bytes", text: "", bytes })),
).map(({ label, text, bytes }): IngestSample => ({
  route: "POST /events",
  label,
  text,
  ...(bytes ? { bytes } : {}),
  transport: bytes ? "base64" : "text",
  headers: baseHeaders("application/json"),
  repeat: false,
  expect: { kind: "any" },
}));

// ---------------------------------------------------------------------------------------------
// POST /events/batch samples
// ---------------------------------------------------------------------------------------------

const batchItemArb: fc.Arbitrary<{ model: ObjectModel; outcome: { status: 201; event: ExpectedEvent } | { status: 400 } }> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(validEventArb, fc.boolean()).map(([event, keyed]) => ({
      model: keyed ? obj([...event.model.members, ["idempotency_key", str("@@K@@")]]) : event.model,
      outcome: { status: 201 as const, event: event.expected },
    })),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      defectArb(SCHEMA_DEFECTS).map(([event, name, p, q]) => DEFECTS[name]!(event.model, p, q).model!),
      fc.tuple(validEventArb, fc.constantFrom("", "k".repeat(256), "clé")).map(([event, key]) => obj([...event.model.members, ["idempotency_key", str(key)]])),
    ).map((model) => ({ model, outcome: { status: 400 as const } })),
  },
);

/** Numbers each `@@K@@` placeholder, so every keyed item gets its own key. */
function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/@@K@@/g, () => `@@K${n++}@@`);
}

const batchArb: fc.Arbitrary<IngestSample> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.array(batchItemArb, { minLength: 1, maxLength: 4 }), styleArb).map(([items, style]): IngestSample => ({
      route: "POST /events/batch",
      label: "batch",
      text: numberPlaceholders(writeModel(obj([["events", { kind: "array", items: items.map((i) => i.model) }]]), style)),
      transport: "text",
      headers: baseHeaders("application/json"),
      repeat: false,
      expect: { kind: "batch-items", items: items.map((i) => i.outcome) },
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(validEventArb, { minLength: 0, maxLength: 3 }), defectArb(READER_DEFECTS)).map(([others, [event, name, p, q]]): IngestSample => {
      const defect = DEFECTS[name]!(event.model, p, q);
      const index = p % (others.length + 1);
      const items = others.map((o) => o.model as JsonModel);
      items.splice(index, 0, defect.model!);
      const pointer = defect.expect.pointer ?? defect.expect.pointerPrefix ?? "";
      return {
        route: "POST /events/batch",
        label: `batch with a defect the JSON reader catches: ${name}`,
        text: writeModel(obj([["events", { kind: "array", items }]])),
        transport: "text",
        headers: baseHeaders("application/json"),
        repeat: false,
        expect: rejected(400, defect.expect.codes, { pointerPrefix: `/events/${index}${pointer}` }),
      };
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(validEventArb, fc.nat())
      .map(([event, p]) => ['{"events":[]}', '{"events":{}}', '{"events":null}', "[]", "{}", `{"events":[${writeModel(event.model)}],"extra":1}`, `{"events":[${Array(101).fill(writeModel(event.model)).join(",")}]}`][p % 7]!)
      .map((text): IngestSample => ({ route: "POST /events/batch", label: "invalid batch envelope", text, transport: "text", headers: baseHeaders("application/json"), repeat: false, expect: rejected(400, "invalid_batch") })),
  },
);

/**
 * Every kind of request body. Stored events cost two DynamoDB calls (the write and the read-back),
 * rejections none, so the weights keep 10,000 bodies well under a minute.
 */
export const ingestSampleArb: fc.Arbitrary<IngestSample> = fc.oneof(
  { weight: 4, arbitrary: validSingleArb },
  { weight: 9, arbitrary: defectiveSingleArb },
  { weight: 2, arbitrary: transportDefectArb },
  { weight: 3, arbitrary: arbitrarySingleArb },
  { weight: 2, arbitrary: batchArb },
);

/** The request body a sample sends, after its placeholders got their keys: text or base64. */
export function encodeBody(sample: IngestSample, keys: (placeholder: string) => string): { body: string; isBase64Encoded: boolean } {
  const text = sample.text.replace(/@@K\d+@@/g, keys);
  if (sample.transport === "text" && !sample.bytes) return { body: text, isBase64Encoded: false };
  const bytes = sample.bytes ? Buffer.from(sample.bytes) : Buffer.from(text, "utf8");
  const encoded = sample.transport === "gzip" ? gzipSync(bytes) : bytes;
  return { body: encoded.toString("base64"), isBase64Encoded: true };
}

/** Extra headers a sample's transport needs (gzip bodies say so). */
export function transportHeaders(sample: IngestSample): Record<string, string> {
  return sample.transport === "gzip" && !("content-encoding" in sample.headers) ? { "content-encoding": "gzip" } : {};
}
