/**
 * The local stack's webhook sources: names, schemes and secrets in `$DATA_DIR/webhook-sources.json`
 * (mode 0600), written by `npm run webhooks` and served to the webhook function by the local SSM
 * endpoint (local/ssm.ts) under the same parameter names a deployed stack uses.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { secretProblem, type WebhookScheme } from "../handlers/lib/webhooks/signatures";
import { secretParameterName, WEBHOOK_SOURCE_NAME, type WebhookSource } from "../handlers/lib/webhooks/sources";
import { LOCAL_STACK, PROJECT } from "./config";

export const WEBHOOK_SOURCES_FILE = "webhook-sources.json";

export interface StoredWebhookSource {
  name: string;
  scheme: WebhookScheme;
  /** Accepted secrets, current first; a second one only while a rotation is under way. */
  secrets: string[];
  created_at: string;
}

export class WebhookSourceStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, WEBHOOK_SOURCES_FILE);
  }

  list(): StoredWebhookSource[] {
    if (!fs.existsSync(this.file)) return [];
    return (JSON.parse(fs.readFileSync(this.file, "utf8")) as { sources: StoredWebhookSource[] }).sources;
  }

  get(name: string): StoredWebhookSource | undefined {
    return this.list().find((s) => s.name === name);
  }

  /**
   * Adds a source, or replaces the secret of an existing one; `keepPrevious` keeps the old secret
   * accepted as well (a rotation). Throws with a message that says what to change.
   */
  put(name: string, scheme: WebhookScheme, secret: string, options: { keepPrevious?: boolean } = {}): StoredWebhookSource {
    if (!WEBHOOK_SOURCE_NAME.test(name)) throw new Error(`source name "${name}" must match ${WEBHOOK_SOURCE_NAME.source}`);
    const problem = secretProblem(scheme, secret);
    if (problem) throw new Error(`the ${scheme} secret ${problem}`);
    const sources = this.list();
    const existing = sources.find((s) => s.name === name);
    if (existing && existing.scheme !== scheme) throw new Error(`source "${name}" uses scheme ${existing.scheme}; remove it first to change the scheme`);
    const source: StoredWebhookSource = {
      name,
      scheme,
      secrets: options.keepPrevious && existing ? [secret, existing.secrets[0]!] : [secret],
      created_at: existing?.created_at ?? new Date().toISOString(),
    };
    this.write([...sources.filter((s) => s.name !== name), source]);
    return source;
  }

  remove(name: string): boolean {
    const sources = this.list();
    if (!sources.some((s) => s.name === name)) return false;
    this.write(sources.filter((s) => s.name !== name));
    return true;
  }

  /** The sources as the webhook function sees them, with the local parameter names. */
  functionSources(): WebhookSource[] {
    return this.list().map(({ name, scheme }) => ({ name, scheme, parameter: localParameterName(name) }));
  }

  /** The stored secrets by parameter name, for the local SSM endpoint. */
  secretsByParameter(): Map<string, string[]> {
    return new Map(this.list().map((s) => [localParameterName(s.name), s.secrets]));
  }

  private write(sources: StoredWebhookSource[]): void {
    // DATA_DIR is for this user only (local/stack.ts makes it 0700 too); this may run before the first `npm run dev`.
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify({ sources }, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(temporary, this.file); // atomic: the SSM endpoint never reads half a file
  }
}

export function localParameterName(source: string): string {
  return secretParameterName(PROJECT, LOCAL_STACK, source);
}
