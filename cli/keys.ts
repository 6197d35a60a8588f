/**
 * `npm run keys -- <command>`: manage API keys.
 *
 *   create --name NAME [--scopes ingest,read,ack,replay]   prints the key once; only its digest is stored
 *   list                                             key ids, names, scopes, created/revoked times
 *   revoke KEY_ID                                    denies the key once cached decisions expire, and
 *                                                    says when that is (authorizerCacheTtlSeconds)
 *
 * Target: the local stack (`--local`, the default; `npm run dev` must be running) or a deployed
 * stack (`--table NAME --region R`, with your usual AWS credentials). The local stack is found
 * through DATA_DIR (`$DATA_DIR/local-stack.json`, written by the running stack); DYNAMODB_PORT or
 * `--endpoint` override that. With none of them it refuses, rather than guess a port. `--json` for scripts. `revoke` says until when cached authorizer
 * decisions may still let the key in (revoked_at + authorizerCacheTtlSeconds).
 */
import { parseArgs } from "node:util";
import { createDocumentClient } from "../handlers/lib/store/store";
import { isLegacyReadKey, keyNameProblem, parseScopes, printable } from "../handlers/lib/auth/apiKeys";
import { SCOPES } from "../handlers/routes";
import { isStorageUnavailable } from "../handlers/lib/primitives/faults";
import { API_KEYS_TABLE } from "../handlers/lib/primitives/tables";
import { localTableName, PROJECT, stackConfigFile, stackSettings } from "../local/config";
import { LOCAL_CREDENTIALS, LOCAL_REGION, noLocalStackMessage, runningLocalStack, type RunningLocalStack } from "../local/stack";
import { ApiKeyStore } from "../handlers/lib/auth/keyStore";

const USAGE = `usage: npm run keys -- create --name NAME [--scopes ingest,read,ack,replay] | list | revoke KEY_ID
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
  const dataDir = env.DATA_DIR ?? ".data";
  const running = local ? runningLocalStack(dataDir) : undefined;
  const endpoint = values.endpoint ?? (local ? localEndpoint(env, running) : undefined);
  if (local && endpoint === undefined) return { exitCode: 1, stdout: "", stderr: `error: ${noLocalStackMessage(dataDir)}\n` };
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
        const ttl = authorizerCacheTtl(values.table, running);
        const acceptedUntil = new Date(Date.parse(revoked.revoked_at!) + ttl.seconds * 1000).toISOString();
        const note =
          ttl.seconds === 0
            ? `Authorizer decisions are not cached (authorizerCacheTtlSeconds 0, ${ttl.from}): the next request with this key gets 403.`
            : `API Gateway caches each key's authorizer decision for ${ttl.seconds} s (authorizerCacheTtlSeconds, ${ttl.from}), so requests with this key can still be accepted until ${acceptedUntil} at the latest; after that they get 403.`;
        return out(
          { ...revoked, authorizer_cache_ttl_seconds: ttl.seconds, accepted_until: acceptedUntil },
          `Revoked ${keyId} at ${revoked.revoked_at}. ${note}`,
        );
      }
      default:
        return fail(`unknown command "${command}"`);
    }
  } catch (error) {
    const hint = local && isStorageUnavailable(error) ? ` (no local stack answers at ${endpoint}; is \`npm run dev\` running with DATA_DIR=${dataDir}?)` : "";
    return { exitCode: 1, stdout: "", stderr: `error: ${(error as Error).name}: ${(error as Error).message}${hint}\n` };
  } finally {
    doc.destroy();
  }
}

/** DYNAMODB_PORT when set, else the stack running on DATA_DIR; undefined when neither (no guessed port). */
function localEndpoint(env: NodeJS.ProcessEnv, running: RunningLocalStack | undefined): string | undefined {
  if (env.DYNAMODB_PORT) return `http://127.0.0.1:${env.DYNAMODB_PORT}`;
  return running?.dynamoEndpoint;
}

/**
 * How long API Gateway may keep a cached "allow" for a revoked key, and where the figure comes
 * from: the running local stack, or the checkout's Pulumi.<stack>.yaml for a deployed table named
 * `${project}-${stack}-api-keys`, or else the Pulumi.yaml default.
 */
function authorizerCacheTtl(table: string | undefined, running: RunningLocalStack | undefined): { seconds: number; from: string } {
  if (table === undefined) {
    if (running) return { seconds: running.authorizerCacheTtlSeconds, from: "the running local stack" };
    return { seconds: stackSettings("dev").authorizerCacheTtlSeconds, from: "Pulumi.dev.yaml, which the local stack uses" };
  }
  const stack = new RegExp(`^${PROJECT}-(.+)-${API_KEYS_TABLE.purpose}$`).exec(table)?.[1];
  if (stack && stackConfigFile(stack)) return { seconds: stackSettings(stack).authorizerCacheTtlSeconds, from: `Pulumi.${stack}.yaml` };
  return { seconds: stackSettings(null).authorizerCacheTtlSeconds, from: "the Pulumi.yaml default; check `pulumi config get authorizerCacheTtlSeconds`" };
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
