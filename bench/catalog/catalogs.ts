/**
 * Catalogues for the catalogue benchmark (bench/catalog.ts), bundled in place of events/catalog.ts:
 * - `tenFields`: `order.created` with a 10-field schema the typical 300-byte event
 *   (bench/lib/fixtures.ts) satisfies, for the CPU of checking one event under enforce;
 * - `fiftyTypes`: 50 declared types of 10 fields each, for the init cost of a large catalogue;
 *   `fiftyTypesLazy` the same with each payload schema given as a function (built on first use);
 * - `none`: an empty catalogue, today's behaviour.
 * Which one a bundle gets is the BENCH_CATALOG define.
 */
import * as z from "zod/mini";
import { defineCatalog, defineEventType } from "../../handlers/lib/events/catalog";

declare const BENCH_CATALOG: "tenFields" | "fiftyTypes" | "fiftyTypesLazy" | "none";

const orderFields = () => ({
  order_id: z.string().check(z.minLength(1)),
  customer_id: z.string(),
  total: z.number().check(z.nonnegative()),
  currency: z.enum(["EUR", "USD", "GBP", "SEK"]),
  items: z.array(z.object({ sku: z.string(), qty: z.int().check(z.positive()) })).check(z.minLength(1)),
  note: z.string(),
  coupon: z.optional(z.string()),
  channel: z.optional(z.enum(["web", "app", "store"])),
  tax: z.optional(z.number()),
  shipping: z.optional(z.object({ method: z.string(), cost: z.number() })),
});
const example = { order_id: "o", customer_id: "c", total: 1, currency: "EUR" as const, items: [{ sku: "s", qty: 1 }], note: "" };

function build() {
  if (BENCH_CATALOG === "none") return defineCatalog({});
  if (BENCH_CATALOG === "tenFields") {
    return defineCatalog({ "order.created": defineEventType({ description: "bench", owner: "bench", version: 1, payload: z.object(orderFields()), examples: [example] }) });
  }
  const types: Record<string, ReturnType<typeof defineEventType>> = {};
  for (let i = 0; i < 50; i++) {
    const payload = BENCH_CATALOG === "fiftyTypesLazy" ? () => z.object(orderFields()) : z.object(orderFields());
    types[`bench.type_${i}`] = defineEventType({ description: `bench type ${i}`, owner: "bench", version: 1, payload, examples: [example] });
  }
  return defineCatalog(types);
}

export const catalog = build();
