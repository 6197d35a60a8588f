/**
 * `npm run keys -- <command>`: manage API keys.
 *
 *   create --name NAME [--scopes ingest,read,ack]   prints the key once; only its digest is stored
 *   list                                             key ids, names, scopes, created/revoked times
 *   revoke KEY_ID                                    denies the key once cached decisions expire
 *
 * Target: the local stack (`--local`, the default; `npm run dev` must be running) or a deployed
 * stack (`--table NAME --region R`, with your usual AWS credentials). `--json` for scripts.
 */
import { parseArgs } from "node:util";
import { createDocumentClient } from "../handlers/lib/store";
import { isLegacyReadKey, keyNameProblem, parseScopes, printable } from "../handlers/lib/apiKeys";
import { SCOPES } from "../handlers/routes";
import { isStorageUnavailable } from "../handlers/lib/faults";
import { API_KEYS_TABLE } from "../handlers/lib/tables";
import { localTableName } from "../local/config";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../local/stack";
import { ApiKeyStore } from "./keyStore";

const USAGE = `usage: npm run keys -- create --name NAME [--scopes ingest,read,ack] | list | revoke KEY_ID
       [--local | --table NAME --region REGION] [--endpoint URL] [--json]`;

export interface KeysCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runKeysCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<KeysCliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        scopes: { type: "string", default: SCOPES.join(",") },
        local: { type: "boolean", default: false },
        table: { type: "string" },
        region: { type: "string" },
        endpoint: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return { exitCode: 2, stdout: "", stderr: `${(error as Error).message}\n${USAGE}\n` };
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) return { exitCode: values.help ? 0 : 2, stdout: values.help ? USAGE + "\n" : "", stderr: values.help ? "" : USAGE + "\n" };
  if (values.table && values.local) return fail("use either --local or --table, not both");
  if (values.table && !values.region && !env.AWS_REGION) return fail("--table needs --region (or AWS_REGION)");

  const local = !values.table;
  const endpoint = values.endpoint ?? (local ? `http://127.0.0.1:${env.DYNAMODB_PORT ?? 8000}` : undefined);
  const doc = createDocumentClient({
    ...(endpoint ? { endpoint } : {}),
    ...(local ? { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS } : { region: values.region ?? env.AWS_REGION! }),
    maxAttempts: 2,
  });
  const store = new ApiKeyStore(doc, values.table ?? localTableName(API_KEYS_TABLE.purpose));
  const out = (json: unknown, text: string): KeysCliResult => ({ exitCode: 0, stdout: (values.json ? JSON.stringify(json, null, 2) : text) + "\n", stderr: "" });

  try {
    switch (command) {
      case "create": {
        if (!values.name) return fail("create needs --name");
        const nameProblem = keyNameProblem(values.name);
        if (nameProblem) return fail(`--name ${nameProblem}`);
        let scopes;
        try {
          scopes = parseScopes(values.scopes!);
        } catch (error) {
          return fail((error as Error).message);
        }
        const { apiKey, record } = await store.create(values.name, scopes);
        const { secret_sha256: _digest, ...summary } = record;
        return out(
          { ...summary, api_key: apiKey },
          `Created key ${record.key_id} (${record.name}; scopes ${record.scopes.join(",")}). Store it now; it is not shown again:\n${apiKey}`,
        );
      }
      case "list": {
        const keys = await store.list();
        // Names and scopes are shown escaped: a record written by another tool may hold control characters.
        const rows = keys.map((k) => {
          const scopes = printable(k.scopes.join(",")) + (isLegacyReadKey(k) ? "(+ack)" : "");
          return `${printable(k.key_id)}  ${k.revoked_at ? "revoked" : "active "}  ${scopes.padEnd(16)} ${printable(k.created_at)}  ${printable(k.name)}`;
        });
        const legacy = keys.some((k) => !k.revoked_at && isLegacyReadKey(k))
          ? "\n(+ack): issued before the ack scope, so read also acks; create a replacement with the scopes it needs and revoke this one"
          : "";
        return out(keys, keys.length ? rows.join("\n") + legacy : "no keys");
      }
      case "revoke": {
        const keyId = rest[0];
        if (!keyId) return fail("revoke needs a key id (see `list`)");
        const revoked = await store.revoke(keyId);
        if (!revoked) return { exitCode: 1, stdout: "", stderr: `no key with id ${keyId}\n` };
        return out(revoked, `Revoked ${keyId} at ${revoked.revoked_at}. Cached authorizer decisions expire within the stack's authorizerCacheTtlSeconds.`);
      }
      default:
        return fail(`unknown command "${command}"`);
    }
  } catch (error) {
    const hint = local && isStorageUnavailable(error) ? ` (is \`npm run dev\` running with DYNAMODB_PORT=${env.DYNAMODB_PORT ?? 8000}?)` : "";
    return { exitCode: 1, stdout: "", stderr: `error: ${(error as Error).name}: ${(error as Error).message}${hint}\n` };
  } finally {
    doc.destroy();
  }
}

function fail(message: string): KeysCliResult {
  return { exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // see local/dev.ts
  runKeysCli(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
