/**
 * A test oracle for "read back exactly as sent", independent of the handlers' own JSON reader and
 * writer: JSON text parsed with every number kept as its literal, and values normalized so that two
 * JSON documents compare with chai's deep equality when they mean the same thing (object key order
 * aside, numbers compared by decimal value, not by text or by double).
 */
import { randomUUID } from "node:crypto";

/** A JSON number as it appeared in the text. */
export class ExactNumber {
  constructor(readonly literal: string) {}
}

const TOKEN = /\s*(?:("(?:[^"\\]|\\.)*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|([{}[\],:]|true|false|null))/y;

/**
 * JSON.parse, but every number becomes an ExactNumber holding its literal. Throws SyntaxError for
 * text that is not JSON (numbers are swapped for marker objects token by token, then JSON.parse
 * judges the rest).
 */
export function parseExactJson(text: string): unknown {
  const marker = `\u0000${randomUUID()}`;
  let rewritten = "";
  TOKEN.lastIndex = 0;
  let position = 0;
  for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) {
    rewritten += match[2] === undefined ? match[0] : `{${JSON.stringify(marker)}:${JSON.stringify(match[2])}}`;
    position = TOKEN.lastIndex;
  }
  rewritten += text.slice(position); // whatever did not tokenize: JSON.parse rejects it
  return JSON.parse(rewritten, function (this: unknown, _key, value: unknown) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === marker) return new ExactNumber((value as Record<string, string>)[marker]!);
    }
    return value;
  });
}

/**
 * The decimal value of a number literal in one canonical spelling: sign, significant digits with
 * no leading or trailing zeros, exponent (`-0.0150e2` → `-15e-1`; every zero → `0`).
 */
export function canonicalDecimal(literal: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) throw new Error(`not a decimal literal: ${literal}`);
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  let digits = (whole! + fraction).replace(/^0+/, "");
  let exponent = Number(exponentText) - fraction.length;
  if (digits === "") return "0";
  const trailing = digits.length - digits.replace(/0+$/, "").length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return `${sign}${digits}e${exponent}`;
}

/**
 * Normalized form for deep comparison: numbers (JS numbers, ExactNumbers, or anything with a string
 * `value` such as the SDK's NumberValue) become a string that starts with a lone surrogate — a
 * string no accepted JSON value can contain — followed by the canonical decimal.
 */
export function normalizeJson(value: unknown): unknown {
  if (value instanceof ExactNumber) return numberMark(value.literal);
  if (typeof value === "number") return numberMark(String(value));
  if (Array.isArray(value)) return value.map(normalizeJson);
  if (value !== null && typeof value === "object") {
    if (isNumberValue(value)) return numberMark(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v)]));
  }
  return value;
}

function numberMark(literal: string): string {
  return `\ud800${canonicalDecimal(literal)}`;
}

/** The SDK's NumberValue (what reads with `wrapNumbers` give), recognised by its shape. */
function isNumberValue(value: object): value is { value: string } {
  const candidate = value as { value?: unknown; toAttributeValue?: unknown };
  return typeof candidate.value === "string" && typeof candidate.toAttributeValue === "function";
}
