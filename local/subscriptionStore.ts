/**
 * The local stack's delivery subscriptions: names, URLs, filters and signing secrets in
 * `$DATA_DIR/subscriptions.json` (mode 0600), written by `npm run subscriptions` and read by
 * `npm run dev` at start. The secrets reach the deliverer through the local SSM endpoint under the
 * parameter names a deployed stack uses. Local subscriptions may point at http://127.0.0.1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  parseSubscriptions,
  subscriptionSecretParameterName,
  subscriptionSecretProblem,
  SUBSCRIPTION_NAME,
  type Subscription,
} from "../handlers/lib/delivery/subscriptions";
import { LOCAL_STACK, PROJECT } from "./config";

export const SUBSCRIPTIONS_FILE = "subscriptions.json";

export interface StoredSubscription extends Subscription {
  /** Signing secrets, current first; a second one only while a rotation is under way. */
  secrets: string[];
  created_at: string;
}

export class SubscriptionStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, SUBSCRIPTIONS_FILE);
  }

  list(): StoredSubscription[] {
    if (!fs.existsSync(this.file)) return [];
    return (JSON.parse(fs.readFileSync(this.file, "utf8")) as { subscriptions: StoredSubscription[] }).subscriptions;
  }

  get(name: string): StoredSubscription | undefined {
    return this.list().find((s) => s.name === name);
  }

  /**
   * Adds a subscription or replaces one (URL, filters, secret); `keepPrevious` keeps the old secret
   * signing as well (a rotation). Validated as stack config is, with http:// and loopback allowed.
   */
  put(name: string, url: string, filters: readonly string[], secret: string, options: { keepPrevious?: boolean } = {}): StoredSubscription {
    if (!SUBSCRIPTION_NAME.test(name)) throw new Error(`subscription name "${name}" must match ${SUBSCRIPTION_NAME.source}`);
    const [parsed] = parseSubscriptions(`${name}=${[url, ...filters].join("|")}`, { allowHttp: true });
    const problem = subscriptionSecretProblem(secret);
    if (problem) throw new Error(problem);
    const existing = this.get(name);
    const subscription: StoredSubscription = {
      ...parsed!,
      secrets: options.keepPrevious && existing && existing.secrets[0] !== secret ? [secret, existing.secrets[0]!] : [secret],
      created_at: existing?.created_at ?? new Date().toISOString(),
    };
    this.write([...this.list().filter((s) => s.name !== name), subscription]);
    return subscription;
  }

  remove(name: string): boolean {
    const all = this.list();
    if (!all.some((s) => s.name === name)) return false;
    this.write(all.filter((s) => s.name !== name));
    return true;
  }

  /** The stored secrets by parameter name, for the local SSM endpoint. */
  secretsByParameter(): Map<string, string[]> {
    return new Map(this.list().map((s) => [localSubscriptionParameterName(s.name), s.secrets]));
  }

  private write(subscriptions: StoredSubscription[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify({ subscriptions }, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }
}

export function localSubscriptionParameterName(name: string): string {
  return subscriptionSecretParameterName(PROJECT, LOCAL_STACK, name);
}
