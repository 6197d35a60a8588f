/**
 * `npm run webhooks -- <command>`: webhook sources of the local stack (under DATA_DIR, default .data).
 *
 *   add NAME --scheme github|stripe|standard [--secret S] [--keep-previous]
 *        stores the source; without --secret generates one and prints it once. On an existing
 *        source it replaces the secret; --keep-previous keeps the old one accepted (a rotation).
 *   list                 names, schemes, number of accepted secrets (never the secrets)
 *   remove NAME
 *
 * A deployed stack takes its sources from config instead: `pulumi config set webhookSources …` and
 * `pulumi config set --secret webhookSecret-<name> …` (README "Receive webhooks").
 */
import { parseArgs } from "node:util";
import { generateSecret, WEBHOOK_SCHEMES, type WebhookScheme } from "../handlers/lib/webhooks/signatures";
import { WebhookSourceStore } from "../local/webhookStore";
import { runningLocalStack } from "../local/stack";

const USAGE = `usage: npm run webhooks -- add NAME --scheme ${WEBHOOK_SCHEMES.join("|")} [--secret SECRET] [--keep-previous]
       npm run webhooks -- list | remove NAME
       [--json]; the store is $DATA_DIR/webhook-sources.json (DATA_DIR defaults to .data)`;

export interface WebhooksCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function runWebhooksCli(argv: string[], env: NodeJS.ProcessEnv = process.env): WebhooksCliResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        scheme: { type: "string" },
        secret: { type: "string" },
        "keep-previous": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, name, ...extra] = positionals;
  if (values.help) return { exitCode: 0, stdout: USAGE + "\n", stderr: "" };
  if (!command) return { exitCode: 2, stdout: "", stderr: USAGE + "\n" };
  if (extra.length > 0) return fail(`unexpected arguments: ${extra.join(" ")}`);
  const dataDir = env.DATA_DIR ?? ".data";
  const store = new WebhookSourceStore(dataDir);
  const out = (json: unknown, text: string): WebhooksCliResult => ({ exitCode: 0, stdout: (values.json ? JSON.stringify(json, null, 2) : text) + "\n", stderr: "" });
  // The URL of the stack running on DATA_DIR (its local-stack.json); without one, where `npm run dev` will serve it.
  const running = runningLocalStack(dataDir);
  const path = `${running?.url ?? `http://127.0.0.1:${env.PORT ?? 3000}`}/webhooks/`;

  switch (command) {
    case "add": {
      if (!name) return fail("add needs a source NAME");
      const scheme = values.scheme ?? store.get(name)?.scheme;
      if (!scheme) return fail(`add needs --scheme ${WEBHOOK_SCHEMES.join("|")}`);
      if (!(WEBHOOK_SCHEMES as readonly string[]).includes(scheme)) return fail(`unknown scheme ${scheme}; the schemes are ${WEBHOOK_SCHEMES.join(", ")}`);
      const generated = values.secret === undefined;
      const secret = values.secret ?? generateSecret(scheme as WebhookScheme);
      const existed = store.get(name) !== undefined;
      let source;
      try {
        source = store.put(name, scheme as WebhookScheme, secret, { keepPrevious: values["keep-previous"] });
      } catch (error) {
        return fail((error as Error).message); // a bad name or secret is a usage error (2), like a bad scheme
      }
      const lines = [
        `${existed ? "Updated" : "Added"} webhook source ${name} (${scheme}) in ${store.file}; it accepts ${source.secrets.length === 2 ? "the new and the previous secret" : "one secret"}.`,
        ...(generated ? [`Generated secret (shown only now; give it to the sender):`, `  ${secret}`] : []),
        `Deliveries go to POST ${path}${name}${running ? (existed ? "" : "  (restart `npm run dev` to serve a new source)") : `  (once \`npm run dev\` runs with DATA_DIR=${dataDir}; no stack runs there now)`}`,
      ];
      return out({ name, scheme, url: `${path}${name}`, accepted_secrets: source.secrets.length, ...(generated ? { secret } : {}) }, lines.join("\n"));
    }
    case "list": {
      const sources = store.list().map((s) => ({ name: s.name, scheme: s.scheme, accepted_secrets: s.secrets.length, created_at: s.created_at }));
      const rows = sources.map((s) => `${s.name.padEnd(20)} ${s.scheme.padEnd(9)} ${s.accepted_secrets === 2 ? "rotating" : "        "}  ${s.created_at}`);
      return out(sources, sources.length ? rows.join("\n") : `no webhook sources in ${store.file}`);
    }
    case "remove": {
      if (!name) return fail("remove needs a source NAME");
      if (!store.remove(name)) return { exitCode: 1, stdout: "", stderr: `no webhook source named ${name}\n` };
      return out({ removed: name }, `Removed webhook source ${name}; restart \`npm run dev\` to stop serving it.`);
    }
    default:
      return fail(`unknown command "${command}"`);
  }
}

function fail(message: string): WebhooksCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  const result = runWebhooksCli(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
