/** Event ids (handlers/lib/primitives/ids): layout, ordering, randomness, idempotent derivation, sharding. */
import { expect } from "chai";
import { crockfordBase32, EVENT_ID_PATTERN, idempotentEventId, newEventId, shardOf } from "../../handlers/lib/primitives/ids";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const T = Date.UTC(2026, 0, 1, 12, 0, 0, 0);
const fill = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);

/** The bits of an id's 26 base32 characters (130 bits; the first 2 are padding). */
function bitsOf(eventId: string): string {
  return [...eventId.slice(4)].map((c) => CROCKFORD.indexOf(c).toString(2).padStart(5, "0")).join("");
}

describe("event ids (handlers/lib/primitives/ids)", () => {
  describe("crockfordBase32", () => {
    it("writes bytes big-endian, left-padded to whole characters, in the Crockford alphabet", () => {
      expect(crockfordBase32(new Uint8Array([]))).to.equal("");
      expect(crockfordBase32(new Uint8Array([0x00]))).to.equal("00");
      expect(crockfordBase32(new Uint8Array([0xff]))).to.equal("7Z");
      expect(crockfordBase32(new Uint8Array([0x01, 0x00]))).to.equal("0080");
      expect(crockfordBase32(new Uint8Array(5).fill(0xff))).to.equal("ZZZZZZZZ");
      expect(crockfordBase32(Uint8Array.from([0x00, 0x44, 0x32, 0x14, 0xc7]))).to.equal("01234567");
    });

    it("preserves byte order as string order", () => {
      const values = [0, 1, 31, 32, 255, 256, 65_535, 1 << 20, 2 ** 31, 2 ** 32 - 1];
      const encoded = values.map((v) => crockfordBase32(Uint8Array.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255])));
      expect([...encoded].sort()).to.deep.equal(encoded);
    });
  });

  describe("newEventId", () => {
    it("is evt_ plus 26 Crockford characters", () => {
      for (let i = 0; i < 100; i++) expect(newEventId(T + i)).to.match(EVENT_ID_PATTERN);
    });

    it("puts the 48-bit millisecond time first and 80 random bits after it", () => {
      const random = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const bits = bitsOf(newEventId(T, (n) => random.subarray(0, n)));
      expect(bits.slice(0, 2)).to.equal("00");
      expect(parseInt(bits.slice(2, 50), 2)).to.equal(T);
      expect(bits.slice(50)).to.equal([...random].map((b) => b.toString(2).padStart(8, "0")).join(""));
    });

    it("asks the random source for exactly 10 bytes (80 bits)", () => {
      const asked: number[] = [];
      newEventId(T, (n) => (asked.push(n), new Uint8Array(n)));
      expect(asked).to.deep.equal([10]);
    });

    it("sorts by time across milliseconds whatever the random bits", () => {
      const latest = newEventId(T, fill(0xff));
      const next = newEventId(T + 1, fill(0x00));
      expect(latest < next).to.equal(true);
      const ids = Array.from({ length: 50 }, (_, i) => newEventId(T + i * 997));
      expect([...ids].sort()).to.deep.equal(ids);
    });

    it("orders times across the whole 48-bit range, including past 2^32 ms", () => {
      const times = [0, 1, 2 ** 32 - 1, 2 ** 32, T, 2 ** 48 - 1];
      const ids = times.map((t) => newEventId(t, fill(0)));
      expect([...ids].sort()).to.deep.equal(ids);
      expect(new Set(ids).size).to.equal(times.length);
    });

    it("differs within one millisecond, in the random part only", () => {
      const ids = Array.from({ length: 1_000 }, () => newEventId(T));
      expect(new Set(ids).size).to.equal(ids.length);
      expect(new Set(ids.map((id) => id.slice(0, 14))).size).to.equal(1); // evt_ + 10 time characters
      // 80 random bits: across 1,000 ids every one of the 16 random characters takes many values.
      for (let c = 14; c < 30; c++) expect(new Set(ids.map((id) => id[c])).size).to.be.greaterThan(20);
    });
  });

  describe("idempotentEventId", () => {
    it("is deterministic for an API key id and Idempotency-Key, and a valid event id", () => {
      const id = idempotentEventId("0123456789abcdef", "order-42");
      expect(id).to.match(EVENT_ID_PATTERN);
      expect(idempotentEventId("0123456789abcdef", "order-42")).to.equal(id);
    });

    it("is scoped to the API key id", () => {
      expect(idempotentEventId("aaaaaaaaaaaaaaaa", "order-42")).not.to.equal(idempotentEventId("bbbbbbbbbbbbbbbb", "order-42"));
    });

    it("differs for different Idempotency-Keys, including ones that differ only in case or trailing space", () => {
      const keys = ["order-42", "order-43", "Order-42", "order-42 ", "order-4", "2"];
      const ids = keys.map((k) => idempotentEventId("0123456789abcdef", k));
      expect(new Set(ids).size).to.equal(keys.length);
    });

    it("cannot be forged by moving characters between the key id and the Idempotency-Key", () => {
      expect(idempotentEventId("ab", "c")).not.to.equal(idempotentEventId("a", "bc"));
    });
  });

  describe("shardOf", () => {
    it("is stable for an id", () => {
      const id = newEventId(T);
      expect(shardOf(id, 8)).to.equal(shardOf(id, 8));
    });

    for (const shards of [1, 3, 8, 16]) {
      it(`stays in 0..${shards - 1} and spreads 16,000 ids within ±15% of even over ${shards} shard(s)`, () => {
        const counts = new Array<number>(shards).fill(0);
        const ids = 16_000;
        for (let i = 0; i < ids; i++) {
          const shard = shardOf(newEventId(T + (i % 7)), shards);
          expect(Number.isInteger(shard) && shard >= 0 && shard < shards, String(shard)).to.equal(true);
          counts[shard]!++;
        }
        const even = ids / shards;
        for (const count of counts) expect(count).to.be.within(even * 0.85, even * 1.15);
      });
    }

    it("spreads idempotent ids too", () => {
      const counts = new Array<number>(8).fill(0);
      for (let i = 0; i < 8_000; i++) counts[shardOf(idempotentEventId("0123456789abcdef", `key-${i}`), 8)]!++;
      for (const count of counts) expect(count).to.be.within(850, 1_150);
    });
  });
});
