/** The strict JSON reader (handlers/lib/primitives/json): what it accepts, and where and why it rejects. */
import { expect } from "chai";
import { FORBIDDEN_KEYS, JsonInputError, NumberValue, readJson, writeJson, type JsonErrorCode, type JsonValue } from "../../handlers/lib/primitives/json";

const DEEP = { maxDepth: 64 };

/** The JsonInputError `readJson(text)` throws. */
function rejectionOf(text: string, maxDepth = DEEP.maxDepth): JsonInputError {
  try {
    readJson(text, { maxDepth });
  } catch (error) {
    expect(error).to.be.instanceOf(JsonInputError);
    return error as JsonInputError;
  }
  throw new Error(`expected ${JSON.stringify(text.slice(0, 80))} to be rejected`);
}

function expectRejected(text: string, code: JsonErrorCode, pointer: string, maxDepth?: number): JsonInputError {
  const error = rejectionOf(text, maxDepth);
  expect({ code: error.code, pointer: error.pointer }, error.message).to.deep.equal({ code, pointer });
  return error;
}

describe("readJson (handlers/lib/primitives/json)", () => {
  describe("accepts", () => {
    it("every kind of JSON value, equal to what JSON.parse returns", () => {
      const text = ` {"s":"tab\\t quote\\" slash\\/ é \\u00e9 😀 \\ud83d\\ude00","n":[0,-1,1.5,-2.25e-3,1e2,1E+2,100e-2],
        "t":true,"f":false,"z":null,"o":{},"a":[],"nested":{"x":[{"y":[[]]}]},"ключ":"значение"} `;
      expect(readJson(text, DEEP)).to.deep.equal(JSON.parse(text));
    });

    it("a scalar at the root", () => {
      expect(readJson(" 42 ", DEEP)).to.equal(42);
      expect(readJson('"x"', DEEP)).to.equal("x");
      expect(readJson("null", DEEP)).to.equal(null);
    });

    it("numbers a double holds exactly, however they are written (1.10, 100e-2, 0e5)", () => {
      expect(readJson("[1.10,100e-2,0e5,9007199254740992]", DEEP)).to.deep.equal([1.1, 1, 0, 9007199254740992]);
    });

    it("a number a double cannot hold exactly as a NumberValue that keeps the literal's digits (up to 38)", () => {
      for (const literal of ["12345678901234567890", "9007199254740993", "0.1000000000000000055511151231257827", "-12345678901234567890123456789012345678"]) {
        const value = readJson(literal, DEEP);
        expect(value, literal).to.be.instanceOf(NumberValue);
        expect((value as NumberValue).value).to.equal(literal);
      }
    });

    it("writes NumberValues back with every digit (readJson → writeJson round trip)", () => {
      const text = '{"big":12345678901234567890,"list":[0.1000000000000000055511151231257827,1.5,"s",null,true]}';
      expect(writeJson(readJson(text, DEEP))).to.equal(text);
    });

    it("the extremes DynamoDB can store: 1e125, 9.99e125, 1e-130 and their negatives", () => {
      expect(readJson("[1e125,9.99e125,1e-130,-1e125,-1e-130]", DEEP)).to.deep.equal([1e125, 9.99e125, 1e-130, -1e125, -1e-130]);
    });

    it("a surrogate pair, escaped or raw", () => {
      expect(readJson('["\\ud83d\\ude00","😀"]', DEEP)).to.deep.equal(["😀", "😀"]);
    });

    it("keys that merely contain a forbidden word (__proto__x, my_constructor)", () => {
      const value = readJson('{"__proto__x":1,"my_constructor":2,"prototypes":3}', DEEP) as Record<string, JsonValue>;
      expect(Object.keys(value)).to.deep.equal(["__proto__x", "my_constructor", "prototypes"]);
    });

    it("exactly maxDepth levels of nesting (the root container is level 1)", () => {
      expect(readJson("[[[]]]", { maxDepth: 3 })).to.deep.equal([[[]]]);
      expect(readJson('{"a":{"b":{}}}', { maxDepth: 3 })).to.deep.equal({ a: { b: {} } });
    });

    it("an array nested 100,000 deep without a RangeError when the limit allows it (the reader is not recursive)", () => {
      const depth = 100_000;
      let value = readJson("[".repeat(depth) + "]".repeat(depth), { maxDepth: depth });
      let levels = 0;
      while (Array.isArray(value)) {
        levels++;
        value = value[0] as JsonValue;
      }
      expect(levels).to.equal(depth);
    });
  });

  describe("rejects with invalid_json and a pointer to where it stopped", () => {
    const cases: [string, string, string][] = [
      ["an empty text", "", ""],
      ["whitespace only", "   ", ""],
      ["a trailing comma in an array", '{"a":[1,2,]}', "/a/2"],
      ["a trailing comma in an object (pointing at the object, not at the member before)", '{"a":{"b":1,}}', "/a"],
      ["a single-quoted key", '{"a":{\'b\':1}}', "/a"],
      ["a bare key after another member", '{"a":1,b:2}', ""],
      ["a missing colon", '{"a" 1}', "/a"],
      ["a missing comma", '{"a":1 "b":2}', "/a"],
      ["an unterminated string", '{"a":"x', "/a"],
      ["a raw control character in a string", '{"a":"x\ny"}', "/a"],
      ["an invalid escape", '{"a":["\\x"]}', "/a/0"],
      ["a misspelt literal", '{"a":{"b":tru}}', "/a/b"],
      ["a leading zero", '{"a/b":{"m~n":[0,{"x":01}]}}', "/a~1b/m~0n/1/x"],
      ["a leading plus", "+1", ""],
      ["a bare decimal point", ".5", ""],
      ["a lone minus", '{"a":-}', "/a"],
      ["NaN", "NaN", ""],
      ["an unclosed array", "[", "/0"],
      ["data after the value", "{} x", ""],
      ["a second value", "true false", ""],
      ["an extra closing bracket", "[1]]", ""],
    ];
    for (const [what, text, pointer] of cases) {
      it(`${what}: ${JSON.stringify(text)} → "${pointer}"`, () => {
        const error = expectRejected(text, "invalid_json", pointer);
        expect(error.message).to.be.a("string").and.not.equal("");
      });
    }

    it("escapes ~ and / in pointer segments as RFC 6901 says", () => {
      expect(rejectionOf('{"a/b":{"m~n":x}}').pointer).to.equal("/a~1b/m~0n");
    });
  });

  describe("rejects nesting beyond maxDepth", () => {
    it("one level too deep, pointing at the container that is too deep", () => {
      expectRejected("[[[[]]]]", "nesting_too_deep", "/0/0/0", 3);
      expectRejected('{"a":{"b":{"c":{}}}}', "nesting_too_deep", "/a/b/c", 3);
    });

    it("a 10,000-deep array with maxDepth 33 at once, without a RangeError", () => {
      expectRejected("[".repeat(10_000) + "]".repeat(10_000), "nesting_too_deep", "/0".repeat(33), 33);
    });

    it("an unclosed 1,000,000-deep array, without building it", () => {
      expectRejected("[".repeat(1_000_000), "nesting_too_deep", "/0".repeat(33), 33);
    });
  });

  describe("rejects numbers DynamoDB cannot store as sent", () => {
    const cases: [string, JsonErrorCode][] = [
      ["123456789012345678901234567890123456789", "number_not_exact"],
      ["1.00000000000000000000000000000000000001", "number_not_exact"],
      ["-0", "number_not_exact"],
      ["-0.0", "number_not_exact"],
      ["-0e10", "number_not_exact"],
      ["1e400", "number_out_of_range"],
      ["-1e400", "number_out_of_range"],
      ["1e126", "number_out_of_range"],
      ["1e-131", "number_out_of_range"],
      ["1e-400", "number_out_of_range"],
    ];
    for (const [literal, code] of cases) {
      it(`${literal} → ${code}`, () => {
        expectRejected(`{"a":[true,${literal}]}`, code, "/a/1");
      });
    }

    it("says to send a number of more than 38 significant digits as a string", () => {
      expect(rejectionOf("123456789012345678901234567890123456789").message).to.match(/send it as a string/i);
    });
  });

  describe("rejects keys that cannot be stored safely", () => {
    for (const key of FORBIDDEN_KEYS) {
      it(`"${key}" as forbidden_key, at the top level and nested, leaving Object.prototype alone`, () => {
        expectRejected(`{"${key}":{"polluted":true}}`, "forbidden_key", `/${key}`);
        expectRejected(`{"a":[{"${key}":{"polluted":true}}]}`, "forbidden_key", `/a/0/${key}`);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      });
    }

    it("a forbidden key written with escapes (\\u0074 for t)", () => {
      expectRejected('{"__pro\\u0074o__":{}}', "forbidden_key", "/__proto__");
    });

    it("a duplicate key as duplicate_key, also when one spelling is escaped", () => {
      expectRejected('{"a":{"x":1,"x":2}}', "duplicate_key", "/a/x");
      expectRejected('{"a":1,"\\u0061":2}', "duplicate_key", "/a");
    });

    it("allows the same key in sibling objects", () => {
      expect(readJson('[{"x":1},{"x":2}]', DEEP)).to.deep.equal([{ x: 1 }, { x: 2 }]);
    });

    it("an empty key as empty_key", () => {
      expectRejected('{"a":{"":1}}', "empty_key", "/a/");
    });
  });

  describe("rejects strings that are not well-formed Unicode", () => {
    const cases: [string, string, string][] = [
      ["an escaped lone high surrogate", '{"s":"\\ud800"}', "/s"],
      ["an escaped lone low surrogate", '{"s":["\\udc00x"]}', "/s/0"],
      ["a high surrogate followed by a non-surrogate escape", '{"s":"\\ud83d\\u0041"}', "/s"],
      ["a raw lone surrogate in a value", '{"s":"a\ud800b"}', "/s"],
      ["a raw lone surrogate in a key (pointing at its object)", '{"o":{"a":1,"k\udfff":1}}', "/o"],
    ];
    for (const [what, text, pointer] of cases) {
      it(`${what} as invalid_unicode`, () => {
        expectRejected(text, "invalid_unicode", pointer);
      });
    }
  });

  it("throws JsonInputError named JsonInputError with a code, a pointer and a message", () => {
    const error = rejectionOf('{"a":{"a":1,"a":2}}');
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal("JsonInputError");
    expect(error).to.include({ code: "duplicate_key", pointer: "/a/a" });
    expect(error.message).to.include('"a"');
  });
});
