/**
 * A stream image of a stored event, read back the way clients see it, for inline stream consumers
 * (`EventStore.onEvent`, components/EventConsumer.ts). Since ADR 0035 a payload of 2.5 KiB or more
 * is stored compressed (storage format 2): the image carries `payload_br` (brotli of the payload's
 * JSON text) instead of a `payload` map. `decodedImage` puts the `payload` map back, every number
 * as the literal it was received with (a DynamoDB `N`), and drops the stored-form attributes, so a
 * consumer handles format 1 and format 2 images alike.
 *
 * Inline callbacks are serialized by Pulumi and bundle nothing from node_modules, so these
 * functions use only Node's `zlib` (required inside, at call time) and capture nothing else; a
 * callback that calls `decodedImage` carries them along. The shipped EventBridge forwarder
 * (index.ts) uses them; tests run them in a fresh process from the serialized module
 * (test/infra/consumer.test.ts).
 *
 * A payload claim-checked to S3 (`payload_object`, over 64 KB even compressed) is not fetched: the
 * image keeps `payload_object` and `payload_bytes` and has no `payload`; read the event with
 * `GET /events/{id}` (or the object from the stack's payload bucket: brotli of the JSON text).
 */

/** A DynamoDB attribute value in the stream's JSON form (`{ S }`, `{ N }`, `{ M }`, `{ B }` …). */
export type AttributeValue = Record<string, any>;

/** The stored-form attributes `decodedImage` removes once the payload is back (handlers' STORED_FORM_ATTRIBUTES less `payload_object`). */
const DECODED_AWAY = ["storage_format", "payload_br", "payload_bytes"];

/**
 * JSON text (a stored payload's, written by the service's lossless writer) as a DynamoDB attribute
 * value, every number kept as its literal (`{ N: "12345678901234567890123" }`), so it reads as a
 * format-1 map would.
 */
export function jsonTextToAttribute(text: string): AttributeValue {
  let i = 0;
  const STRING = /"[^"\\]*(?:\\.[^"\\]*)*"/y;
  const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const skip = () => {
    while (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t") i++;
  };
  const token = (pattern: RegExp): string => {
    pattern.lastIndex = i;
    const match = pattern.exec(text);
    if (!match) throw new Error(`stored payload is not JSON at ${i}`);
    i = pattern.lastIndex;
    return match[0];
  };
  const value = (): AttributeValue => {
    skip();
    const c = text[i];
    if (c === "{" || c === "[") {
      const object = c === "{";
      const members: any = object ? {} : [];
      i++;
      skip();
      if (text[i] === (object ? "}" : "]")) return (i++, object ? { M: members } : { L: members });
      for (;;) {
        skip();
        if (object) {
          const key = JSON.parse(token(STRING));
          skip();
          i++; // ':'
          members[key] = value();
        } else members.push(value());
        skip();
        if (text[i++] !== ",") return object ? { M: members } : { L: members };
      }
    }
    if (c === '"') return { S: JSON.parse(token(STRING)) };
    for (const [word, attribute] of [["true", { BOOL: true }], ["false", { BOOL: false }], ["null", { NULL: true }]] as const) {
      if (text.startsWith(word, i)) return (i += word.length, attribute);
    }
    return { N: token(NUMBER) };
  };
  return value();
}

/**
 * The image with a compressed payload (format 2) restored as a `payload` map and the stored-form
 * attributes gone; a format-1 image unchanged; a claim-checked one as it is (no `payload`).
 * Binary attributes arrive from Lambda's stream event as base64 strings, and as bytes elsewhere.
 */
export function decodedImage(image: Record<string, AttributeValue>): Record<string, AttributeValue> {
  if (image.storage_format?.N !== "2" || image.payload_br?.B === undefined) return image;
  const { brotliDecompressSync } = require("zlib");
  const compressed = typeof image.payload_br.B === "string" ? Buffer.from(image.payload_br.B, "base64") : image.payload_br.B;
  const decoded: Record<string, AttributeValue> = { ...image, payload: jsonTextToAttribute(brotliDecompressSync(compressed).toString("utf8")) };
  for (const name of DECODED_AWAY) delete decoded[name];
  return decoded;
}
