/**
 * `npm run subscriptions -- <command>`: delivery subscriptions of the local stack (under DATA_DIR, default .data).
 *
 *   add NAME --url URL [--filter order.*]… [--secret whsec_…] [--keep-previous]
 *        stores the subscription; without --secret generates a Standard Webhooks secret and prints
 *        it once (give it to the receiver). On an existing one it replaces URL, filters and secret;
 *        --keep-previous keeps signing with the old secret too (a rotation). Local URLs may be http://127.0.0.1.
 *   list                 names, URLs, filters, number of signing secrets (never the secrets)
 *   remove NAME
 *
 * A deployed stack takes its subscriptions from config instead: `pulumi config set subscriptions …`
 * and `pulumi config set --secret subscriptionSecret-<name> whsec_…` (README "Deliver events").
 */
import { parseArgs } from "node:util";
import { newSubscriptionSecret } from "../handlers/lib/delivery/subscriptions";
import { SubscriptionStore } from "../local/subscriptionStore";

const USAGE = `usage: npm run subscriptions -- add NAME --url URL [--filter TYPE_OR_PREFIX*]… [--secret whsec_…] [--keep-previous]
       npm run subscriptions -- list | remove NAME
       [--json]; the store is $DATA_DIR/subscriptions.json (DATA_DIR defaults to .data); restart npm run dev after a change`;

export interface SubscriptionsCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function runSubscriptionsCli(argv: string[], env: NodeJS.ProcessEnv = process.env): SubscriptionsCliResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        filter: { type: "string", multiple: true },
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
  const store = new SubscriptionStore(env.DATA_DIR ?? ".data");
  const out = (json: unknown, text: string): SubscriptionsCliResult => ({ exitCode: 0, stdout: (values.json ? JSON.stringify(json, null, 2) : text) + "\n", stderr: "" });

  switch (command) {
    case "add": {
      if (!name) return fail("add needs a subscription NAME");
      const existing = store.get(name);
      const url = values.url ?? existing?.url;
      if (!url) return fail("add needs --url (e.g. --url http://127.0.0.1:4000/hooks)");
      const filters = values.filter ?? existing?.filters ?? [];
      const generated = values.secret === undefined && !existing;
      const secret = values.secret ?? existing?.secrets[0] ?? newSubscriptionSecret();
      let subscription;
      try {
        subscription = store.put(name, url, filters, secret, { keepPrevious: values["keep-previous"] });
      } catch (error) {
        return { exitCode: 1, stdout: "", stderr: `${(error as Error).message}\n` };
      }
      const lines = [
        `${existing ? "Updated" : "Added"} subscription ${name} → ${subscription.url} (${subscription.filters.length ? subscription.filters.join(", ") : "every event type"}) in ${store.file}; it signs with ${subscription.secrets.length === 2 ? "the new and the previous secret" : "one secret"}.`,
        ...(generated ? ["Generated signing secret (shown only now; the receiver verifies with it):", `  ${secret}`] : []),
        "Restart `npm run dev` to deliver with this change.",
      ];
      return out({ name, url: subscription.url, filters: subscription.filters, signing_secrets: subscription.secrets.length, ...(generated ? { secret } : {}) }, lines.join("\n"));
    }
    case "list": {
      const all = store.list().map((s) => ({ name: s.name, url: s.url, filters: s.filters, signing_secrets: s.secrets.length, created_at: s.created_at }));
      const rows = all.map((s) => `${s.name.padEnd(20)} ${s.url.padEnd(40)} ${(s.filters.join("|") || "*").padEnd(20)} ${s.signing_secrets === 2 ? "rotating" : "        "}  ${s.created_at}`);
      return out(all, all.length ? rows.join("\n") : `no subscriptions in ${store.file}`);
    }
    case "remove": {
      if (!name) return fail("remove needs a subscription NAME");
      if (!store.remove(name)) return { exitCode: 1, stdout: "", stderr: `no subscription named ${name}\n` };
      return out({ removed: name }, `Removed subscription ${name}; restart \`npm run dev\` to stop delivering to it.`);
    }
    default:
      return fail(`unknown command "${command}"`);
  }
}

function fail(message: string): SubscriptionsCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  const result = runSubscriptionsCli(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
