/** The prices file: every price with its unit, source and date (cost/prices.json). */
import * as fs from "node:fs";
import * as path from "node:path";

export const PRICE_KEYS = [
  "api_gateway_http_per_million_requests",
  "lambda_per_million_requests",
  "lambda_arm64_per_gb_second",
  "dynamodb_per_million_write_request_units",
  "dynamodb_per_million_read_request_units",
  "dynamodb_storage_per_gb_month",
  "cloudwatch_logs_ingestion_per_gb",
  "cloudwatch_logs_storage_per_gb_month",
  // The SNS pipeline (cost/pipelineModel.ts).
  "sns_per_million_publishes",
  "sqs_per_million_requests",
  "eventbridge_pipes_per_million_requests",
  "step_functions_express_per_million_requests",
  "step_functions_express_per_gb_second",
  "step_functions_standard_per_million_transitions",
  // Delivery engines compared in docs/adr/0033 (cost/delivery.ts).
  "eventbridge_per_million_custom_events",
  "eventbridge_api_destinations_per_million_invocations",
  // The claim check's payload objects (cost/storageModel.ts).
  "s3_per_million_put_requests",
  "s3_per_million_get_requests",
  "s3_storage_per_gb_month",
] as const;

export type PriceKey = (typeof PRICE_KEYS)[number];
export type Prices = Record<PriceKey, number>;

export interface PriceEntry {
  value: number;
  unit: string;
  source: string;
  date: string;
}

export interface PricesFile {
  region: string;
  currency: string;
  note?: string;
  prices: Record<PriceKey, PriceEntry>;
}

export const DEFAULT_PRICES_FILE = path.join(__dirname, "prices.json");

/** Reads and checks a prices file: every price present, a number, with a source URL and a date. */
export function loadPrices(file = DEFAULT_PRICES_FILE): { file: PricesFile; prices: Prices } {
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as PricesFile;
  const prices = {} as Prices;
  for (const key of PRICE_KEYS) {
    const entry = parsed.prices?.[key];
    if (!entry || typeof entry.value !== "number" || !(entry.value >= 0)) throw new Error(`${file}: prices.${key}.value must be a non-negative number`);
    if (!/^https?:\/\//.test(entry.source ?? "")) throw new Error(`${file}: prices.${key}.source must be the URL the price comes from`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.date ?? "")) throw new Error(`${file}: prices.${key}.date must be YYYY-MM-DD`);
    prices[key] = entry.value;
  }
  return { file: parsed, prices };
}
