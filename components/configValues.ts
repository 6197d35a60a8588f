/**
 * Stack config values that carry a list in one string, so each stays one `pulumi config set`
 * (Pulumi.yaml's config types have no map), and string values from a fixed set. Errors name the
 * config key to change.
 */
import { CATALOG_MODES, UNKNOWN_EVENT_TYPE_POLICIES, type CatalogPolicy } from "../handlers/lib/ops/config";

/** `"a, b,,c"` → `["a", "b", "c"]`; `""` → `[]`. */
export function listValue(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** `"ingest=100, authorizer=50"` → `{ ingest: 100, authorizer: 50 }`; `""` → `{}`. */
export function countsValue(key: string, text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of listValue(text)) {
    const match = /^([A-Za-z][\w-]*)\s*=\s*(\d+)$/.exec(item);
    if (!match) throw new Error(`config ${key}: expected name=count pairs like "ingest=100,authorizer=50", got "${item}"`);
    const [, name, count] = match as unknown as [string, string, string];
    if (name in counts) throw new Error(`config ${key}: "${name}" appears twice`);
    counts[name] = Number(count);
  }
  return counts;
}

/** `catalogMode` and `unknownEventTypes`, checked against their allowed values. */
export function catalogPolicy(mode: string, unknownEventTypes: string): CatalogPolicy {
  const check = <T extends string>(key: string, value: string, allowed: readonly T[]): T => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new Error(`config ${key} must be one of ${allowed.join(", ")}, got "${value}"`);
  };
  return { mode: check("catalogMode", mode, CATALOG_MODES), unknownEventTypes: check("unknownEventTypes", unknownEventTypes, UNKNOWN_EVENT_TYPE_POLICIES) };
}
