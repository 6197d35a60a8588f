/**
 * A strict JSON reader for request bodies. JSON.parse is fast but it rounds numbers silently,
 * accepts duplicate keys (last wins), builds `__proto__` keys that surprise later code and gives
 * no location on errors. This reader takes one linear, non-recursive pass, so a 10,000-deep
 * array cannot overflow the stack, and rejects, with a JSON Pointer to the offending place:
 * nesting beyond a limit, numbers that would not survive the trip to DynamoDB unchanged,
 * prototype keys, duplicate keys, empty keys and strings that are not well-formed Unicode.
 * String escapes are decoded by JSON.parse itself.
 */
// From util-dynamodb, not lib-dynamodb: the same class without pulling the DynamoDB client into
// bundles that only write JSON.
import { NumberValueImpl as NumberValue } from "@aws-sdk/util-dynamodb";

export { NumberValue };

/**
 * A number a double cannot carry exactly (more than 15–17 significant digits, or an integer beyond
 * ±2^53) is read as the SDK's NumberValue, which keeps its decimal digits and is stored as a
 * DynamoDB number exactly as sent (docs/adr/0002).
 */
export type JsonValue = null | boolean | number | NumberValue | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type JsonErrorCode =
  | "invalid_json"
  | "nesting_too_deep"
  | "number_not_exact"
  | "number_out_of_range"
  | "forbidden_key"
  | "duplicate_key"
  | "empty_key"
  | "invalid_unicode";

export class JsonInputError extends Error {
  constructor(
    readonly code: JsonErrorCode,
    /** RFC 6901 pointer into the document; `""` is the document itself. */
    readonly pointer: string,
    message: string,
  ) {
    super(message);
    this.name = "JsonInputError";
  }
}

export interface JsonReadOptions {
  /** Containers nested deeper than this are rejected; the root container is level 1. */
  readonly maxDepth: number;
}

/** Keys that change an object's prototype chain or shadow its constructor when assigned or merged. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** DynamoDB numbers: 38 significant digits, magnitude 1e-130 to 9.99…e125. */
const DYNAMO_MAX_DIGITS = 38;
const DYNAMO_MAX_EXPONENT = 125;
const DYNAMO_MIN_EXPONENT = -130;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

interface Frame {
  readonly container: JsonValue[] | JsonObject;
  /** Current key (object) or index (array), for pointers; null while an object's next key is read. */
  key: string | number | null;
  readonly seen?: Set<string>;
}

export function readJson(text: string, options: JsonReadOptions): JsonValue {
  const stack: Frame[] = [];
  let i = 0;

  // A frame whose key is still being read points at its object, not at the previous member.
  const pointer = (): string =>
    stack
      .filter((f) => f.key !== null)
      .map((f) => "/" + String(f.key).replace(/~/g, "~0").replace(/\//g, "~1"))
      .join("");
  const fail = (code: JsonErrorCode, message: string): never => {
    throw new JsonInputError(code, pointer(), message);
  };
  const syntax = (what: string): never =>
    fail("invalid_json", i >= text.length ? `unexpected end of JSON, ${what}` : `${what} at position ${i}`);
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
  };

  const readString = (): string => {
    const start = i; // at the opening quote
    let escaped = false;
    for (i = start + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22 /* " */) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        i++;
      } else if (c < 0x20) {
        syntax("control character in string");
      }
    }
    if (i >= text.length) syntax("unterminated string");
    i++;
    let value: string;
    if (escaped) {
      try {
        value = JSON.parse(text.slice(start, i)) as string;
      } catch {
        i = start;
        return syntax("invalid escape in string");
      }
    } else {
      value = text.slice(start + 1, i - 1);
    }
    if (!value.isWellFormed()) fail("invalid_unicode", "string contains a lone surrogate, which is not valid Unicode");
    return value;
  };

  const readNumber = (): number | NumberValue => {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) return syntax("invalid number");
    const literal = match[0];
    i = NUMBER.lastIndex;
    const value = Number(literal);
    // Most numbers are written as JavaScript writes their double (42, 129.95): then the double
    // carries them exactly, they have at most 17 digits, and only DynamoDB's range is left to check.
    if (String(value) === literal && (value === 0 || (Math.abs(value) >= 1e-130 && Math.abs(value) < 1e126))) return value;
    const { digits, exponent } = decimalParts(literal);
    if (digits === "") {
      if (literal.startsWith("-")) fail("number_not_exact", "-0 cannot be stored: DynamoDB has no negative zero");
      return 0;
    }
    if (digits.length > DYNAMO_MAX_DIGITS) {
      fail("number_not_exact", `number ${abbreviate(literal)} has ${digits.length} significant digits; DynamoDB keeps ${DYNAMO_MAX_DIGITS}. Send it as a string`);
    }
    const scientificExponent = exponent + digits.length - 1;
    if (scientificExponent > DYNAMO_MAX_EXPONENT || scientificExponent < DYNAMO_MIN_EXPONENT) {
      fail("number_out_of_range", `number ${abbreviate(literal)} is outside the storable range (1e-130 to 1e126 in magnitude)`);
    }
    // A JSON number that a double carries exactly stays a number; anything else keeps its digits.
    return sameDecimal(literal, String(value)) ? value : new NumberValue(literal);
  };

  const readLiteral = (): boolean | null => {
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    return syntax("unexpected character");
  };

  const open = (container: JsonValue[] | JsonObject): void => {
    if (stack.length >= options.maxDepth) fail("nesting_too_deep", `nesting deeper than ${options.maxDepth} levels`);
    stack.push(Array.isArray(container) ? { container, key: 0 } : { container, key: null, seen: new Set() });
  };

  /** Reads `"key":` in the innermost object frame. */
  const readKey = (frame: Frame): void => {
    frame.key = null;
    skipWhitespace();
    if (text[i] !== '"') syntax("expected a string key");
    const key = readString();
    frame.key = key;
    if (FORBIDDEN_KEYS.has(key)) fail("forbidden_key", `key "${key}" is not allowed`);
    if (key === "") fail("empty_key", "empty keys cannot be stored");
    if (frame.seen!.has(key)) fail("duplicate_key", `key "${abbreviate(key)}" appears more than once`);
    frame.seen!.add(key);
    skipWhitespace();
    if (text[i] !== ":") syntax("expected ':'");
    i++;
  };

  let root: JsonValue | undefined;
  for (;;) {
    // Read one value; containers are opened and their first key (if any) read.
    skipWhitespace();
    let value: JsonValue;
    const c = text[i];
    if (c === "{" || c === "[") {
      i++;
      open(c === "{" ? {} : []);
      skipWhitespace();
      const frame = stack[stack.length - 1]!;
      const empty = text[i] === (c === "{" ? "}" : "]");
      if (!empty) {
        if (c === "{") readKey(frame);
        continue;
      }
      i++;
      stack.pop();
      value = frame.container;
    } else if (c === '"') {
      value = readString();
    } else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
      value = readNumber();
    } else {
      value = readLiteral();
    }

    // Attach the value to its parent and close every container that ends here.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (!frame) {
        root = value;
        break;
      }
      if (Array.isArray(frame.container)) frame.container.push(value);
      else frame.container[frame.key as string] = value;
      skipWhitespace();
      const next = text[i];
      if (next === ",") {
        i++;
        if (Array.isArray(frame.container)) frame.key = frame.container.length;
        else readKey(frame);
        break;
      }
      if (next !== (Array.isArray(frame.container) ? "]" : "}")) syntax("expected ',' or the end of the container");
      i++;
      stack.pop();
      value = frame.container;
    }
    if (root !== undefined) break;
  }
  skipWhitespace();
  if (i < text.length) syntax("unexpected data after the JSON value");
  return root;
}

/** Significant digits and exponent of a decimal literal, so `1.50e1` and `15` compare equal. */
export function decimalParts(literal: string): { digits: string; exponent: number } {
  // A scan without regular expressions or splits: it runs for every number read and sized.
  const begin = literal.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  let end = literal.length;
  let exponent = 0;
  const e = Math.max(literal.indexOf("e"), literal.indexOf("E"));
  if (e >= 0) {
    exponent = Number(literal.slice(e + 1));
    end = e;
  }
  const dot = literal.indexOf(".", begin);
  let digits = literal.slice(begin, end);
  if (dot >= 0 && dot < end) {
    digits = literal.slice(begin, dot) + literal.slice(dot + 1, end);
    exponent -= end - dot - 1;
  }
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 48 /* 0 */) lead++;
  let trail = digits.length;
  while (trail > lead && digits.charCodeAt(trail - 1) === 48) trail--;
  exponent += digits.length - trail;
  digits = digits.slice(lead, trail);
  return { digits, exponent: digits === "" ? 0 : exponent };
}

function sameDecimal(a: string, b: string): boolean {
  const x = decimalParts(a);
  const y = decimalParts(b);
  return x.digits === y.digits && x.exponent === y.exponent;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * JSON text for a value that may hold NumberValues (read back with `wrapNumbers`): their digits are
 * written as they are, so a payload leaves exactly as it arrived. Depth is bounded by what the
 * reader accepted.
 */
export function writeJson(value: unknown): string {
  if (value instanceof NumberValue) return value.value;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : writeJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      if (v !== undefined) members.push(`${JSON.stringify(key)}:${writeJson(v)}`);
    }
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The length in UTF-8 bytes of the shortest JSON text that reads back as `value`: no whitespace,
 * the shortest escape of each string, each number as its shortest literal (`1e20`, not
 * `100000000000000000000`). Any text a client sent for the value was at least this long, so a value
 * read from a body of at most N bytes measures at most N here, however it was written. The queue
 * processor checks payloads against maxEventBytes with it (writeJson can lengthen a number).
 */
export function minimalJsonBytes(value: unknown): number {
  if (value instanceof NumberValue) return minimalNumberLength(value.value);
  if (typeof value === "number") return minimalNumberLength(String(value));
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + minimalJsonBytes(v === undefined ? null : v), value.length === 0 ? 2 : value.length + 1);
  if (value !== null && typeof value === "object") {
    let size = 2;
    let members = 0;
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      size += Buffer.byteLength(JSON.stringify(key), "utf8") + 1 + minimalJsonBytes(v);
      members += 1;
    }
    return size + Math.max(0, members - 1);
  }
  return Buffer.byteLength(JSON.stringify(value) ?? "null", "utf8");
}

/** The shortest JSON literal of a number: plain digits or `<digits>e<exponent>`, whichever is shorter. */
function minimalNumberLength(literal: string): number {
  const { digits, exponent } = decimalParts(literal);
  if (digits === "") return 1; // 0
  const sign = literal.startsWith("-") ? 1 : 0;
  const scientific = digits.length + 1 + String(exponent).length;
  const plain = exponent >= 0 ? digits.length + exponent : -exponent < digits.length ? digits.length + 1 : 2 - exponent;
  return sign + Math.min(plain, exponent === 0 ? plain : scientific);
}

/** Numbers a double carries exactly come back as numbers; the rest keep their digits. */
export function wrapImpreciseNumber(digits: string): number | NumberValue {
  const value = Number(digits);
  return sameDecimal(digits, String(value)) ? value : new NumberValue(digits);
}
