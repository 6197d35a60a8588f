/**
 * Types derived from the catalogue: `EventOf<"order.created">` carries the payload's fields, so a
 * producer or a consumer that names a field the schema does not have fails to compile. This file is
 * part of `tsc -p .` (tsconfig includes test/): each `@ts-expect-error` below is an error tsc must
 * find, or the typecheck itself fails ("unused @ts-expect-error").
 */
import { expect } from "chai";
import { catalog, type EventOf, type EventType } from "../../events/catalog";
import { payloadViolations } from "../../handlers/lib/events/catalog";

/** A consumer written against the catalogue's type: `payload.total` is a number, `lines` an array. */
function orderValue(event: EventOf<"order.created">): number {
  return event.payload.lines.reduce((sum, line) => sum + line.qty, 0) * event.payload.total;
}

describe("types derived from the catalogue (EventOf)", () => {
  it("types a declared event's payload from its schema", () => {
    const order: EventOf<"order.created"> = {
      event_type: "order.created",
      payload: { order_id: "o-1", total: 10, currency: "EUR", lines: [{ sku: "A", qty: 3 }] },
    };
    expect(orderValue(order)).to.equal(30);
    expect(payloadViolations(catalog.types[order.event_type], order)).to.deep.equal([]);
  });

  it("makes a wrong field, a wrong type, a wrong event type or an undeclared type a compile error", () => {
    const wrong: EventOf<"order.created"> = {
      event_type: "order.created",
      // @ts-expect-error `totl` is not a field of order.created (the typo of the issue)
      payload: { order_id: "o-1", totl: 42, currency: "EUR", lines: [] },
    };
    const wrongType: EventOf<"payment.succeeded"> = {
      event_type: "payment.succeeded",
      // @ts-expect-error amount is an integer number of minor units, not a string
      payload: { payment_id: "p", amount: "12.50", currency: "EUR" },
    };
    // @ts-expect-error a push event is not an order.created
    const mislabelled: EventOf<"order.created"> = { event_type: "push", payload: { order_id: "o", total: 1, currency: "EUR", lines: [] } };
    // @ts-expect-error "order.cretaed" is not a declared event type
    const undeclared: EventType = "order.cretaed";
    // @ts-expect-error reading a field the schema does not have
    const missing = (event: EventOf<"order.created">) => event.payload.totl;
    // The values exist only for the compiler; at run time the schemas refuse them too.
    expect(payloadViolations(catalog.types["order.created"], wrong)).not.to.deep.equal([]);
    expect(payloadViolations(catalog.types["payment.succeeded"], wrongType)).not.to.deep.equal([]);
    expect([mislabelled, undeclared, missing]).to.have.length(3);
  });
});
