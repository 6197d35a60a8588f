/**
 * The example pipeline (config `pipeline`): payment notifications published to SNS by a payment
 * system, checked, priced and scored before they are stored. Each stage is an inline callback:
 * Pulumi serializes the function with what it captures into its own Lambda, so copy one, change
 * it, and `pulumi up`. A stage gets the event (the body of POST /events) and returns the event the
 * next stage gets. It may capture plain values and functions and `require` Node built-ins or the
 * AWS SDK v3 the Lambda runtime provides, nothing else from node_modules (docs/adr/0011).
 *
 * A published message looks like:
 *   {"event_type":"payment.succeeded","payload":{"payment_id":"pay_1","amount":125000,"currency":"EUR","country":"SE","card_country":"SE"}}
 * with `amount` in minor units (cents), as payment systems send it.
 */
import type { PipelineStage, StageCallback } from "../components/EventPipeline";

/** Currencies accepted, with their ISO 4217 minor-unit exponent. */
const CURRENCY_EXPONENTS: Record<string, number> = { EUR: 2, USD: 2, GBP: 2, SEK: 2, NOK: 2, DKK: 2, JPY: 0 };
/** Processing fee: a percentage plus a fixed part, in minor units. */
const FEE = { basisPoints: 140, fixedMinor: 25 };
/** Risk bands by amount in major units (EUR 10,000 is "high"). */
const RISK_THRESHOLDS = { high: 10_000, medium: 1_000 };

/**
 * The exponent of a known currency, else undefined. An own-property check: `currency in …` or a
 * plain lookup also finds inherited names, so "constructor" would pass with a function for exponent.
 */
function exponentOf(currency: unknown): number | undefined {
  return typeof currency === "string" && Object.hasOwn(CURRENCY_EXPONENTS, currency) ? CURRENCY_EXPONENTS[currency] : undefined;
}

/** A permanent failure: the message goes to the failure queue at once (no retry). */
function rejected(message: string): Error {
  const error = new Error(message);
  error.name = "PaymentRejected";
  return error;
}

/** Amounts are positive whole minor units, currencies known, payment ids present. */
export const validatePayment: StageCallback = async (event) => {
  const { payment_id: paymentId, amount, currency } = event.payload;
  if (typeof paymentId !== "string" || paymentId === "") throw rejected("payload.payment_id must be a non-empty string");
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount <= 0) {
    throw rejected("payload.amount must be a positive whole number of minor units (cents)");
  }
  if (exponentOf(currency) === undefined) {
    throw rejected(`payload.currency must be one of ${Object.keys(CURRENCY_EXPONENTS).join(", ")}`);
  }
  return event;
};

/** Adds the fee and the net amount, both in the payment's minor units (half-up rounding). */
export const computeFee: StageCallback = async (event) => {
  const amount: number = event.payload.amount;
  const fee = Math.floor((amount * FEE.basisPoints) / 10_000 + 0.5) + FEE.fixedMinor;
  return { ...event, payload: { ...event.payload, fee, net_amount: amount - fee } };
};

/** Adds `metadata.risk_band`: low, medium or high by amount, one band up when the card is foreign. */
export const assignRiskBand: StageCallback = async (event) => {
  const { amount, currency, country, card_country: cardCountry } = event.payload;
  const exponent = exponentOf(currency);
  if (exponent === undefined) throw rejected(`payload.currency must be one of ${Object.keys(CURRENCY_EXPONENTS).join(", ")}`);
  const major = amount / 10 ** exponent;
  const bands = ["low", "medium", "high"];
  let band = major >= RISK_THRESHOLDS.high ? 2 : major >= RISK_THRESHOLDS.medium ? 1 : 0;
  if (typeof country === "string" && typeof cardCountry === "string" && country !== cardCountry) band = Math.min(band + 1, 2);
  return { ...event, metadata: { ...event.metadata, risk_band: bands[band]! } };
};

/** The stages in order, as index.ts hands them to EventPipeline (the local stack runs the same list). */
export const paymentStages: PipelineStage[] = [
  { name: "validate-payment", handler: validatePayment, memoryMb: 128, timeoutSeconds: 5 },
  { name: "compute-fee", handler: computeFee, memoryMb: 128, timeoutSeconds: 5 },
  { name: "assign-risk", handler: assignRiskBand, memoryMb: 128, timeoutSeconds: 5 },
];
