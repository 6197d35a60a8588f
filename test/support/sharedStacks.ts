/**
 * Stacks built once per test run and shared by the test files that only read what was
 * registered (each build takes about a second). A test that creates components itself must call
 * `buildStack` first, so that its resources register under mocks of its own.
 */
import { buildStack, type BuiltStack } from "../../cli/preview/mockStack";

const built = new Map<string, Promise<BuiltStack>>();

export function sharedStack(stack: "dev" | "prod", overrides: Record<string, string | number | boolean> = {}): Promise<BuiltStack> {
  const key = `${stack} ${JSON.stringify(overrides)}`;
  let pending = built.get(key);
  if (!pending) {
    pending = buildStack(stack, overrides);
    built.set(key, pending);
  }
  return pending;
}

/** Every operational toggle on, on the dev stack: the other side of the dev defaults. */
export const EVERYTHING_ON = {
  forwardToEventBridge: true,
  tracing: true,
  reservedConcurrency: "ingest=20, health=0",
  corsAllowedOrigins: "https://app.example.com, http://localhost:5173",
  customDomainName: "events.example.com",
  customDomainHostedZoneId: "Z0123456789ABCDEFGHIJ",
  alarmEmail: "oncall@example.com",
} as const;
