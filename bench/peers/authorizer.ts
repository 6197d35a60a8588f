/**
 * Peer (b): per-check latency of the seed's key check (bcrypt hashes, a table scan, no cache)
 * against ours (the shipped authorizer: GetItem by key id, SHA-256, constant-time compare), on the
 * same dynalite with the same number of keys, each key checked in turn, checks interleaved.
 */
import { createAuthorizer, dynamoKeyLookup } from "../../handlers/lib/auth/authorize";
import { setLogSink } from "../../handlers/lib/ops/log";
import { API_KEYS_TABLE } from "../../handlers/lib/primitives/tables";
import { ApiKeyStore } from "../../handlers/lib/auth/keyStore";
import { startDynalite } from "../../test/support/dynalite";
import { authorizerEvent } from "../../test/support/events";
import { median, ratio, round } from "../lib/stats";
import { createSeedKey, SEED_BCRYPT_COST, seedAuthorizer } from "./seedAuthorizer";

const KEYS = 10;
/** Checks of ours per check of the seed's. */
const OURS_PER_SEED_CHECK = 20;
const SINGLE_KEY_CHECKS = 5;

export interface AuthorizerPeerResult {
  bcrypt_authorizer_ratio: number;
  /** The seed at its best: a table holding one key. */
  bcrypt_single_key_ratio: number;
  seed_check_ms: number;
  seed_single_key_check_ms: number;
  our_check_ms: number;
  /** Bytes our authorizer logs per check (one JSON line). */
  log_bytes_per_check: number;
  keys: number;
  bcrypt_cost: number;
}

export async function compareAuthorizers(): Promise<AuthorizerPeerResult> {
  const dynamo = await startDynalite();
  let logBytes = 0;
  const restoreSink = setLogSink((line) => void (logBytes += Buffer.byteLength(line) + 1));
  try {
    const [ourTable, seedTable, seedSingleTable] = ["bench-api-keys", "bench-seed-api-keys", "bench-seed-one-key"];
    for (const table of [ourTable, seedTable, seedSingleTable]) await dynamo.createTable(API_KEYS_TABLE, table);
    const store = new ApiKeyStore(dynamo.doc, ourTable);
    const ourKeys: string[] = [];
    const seedKeys: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      ourKeys.push((await store.create(`bench-${i}`, ["ingest"])).apiKey);
      seedKeys.push(await createSeedKey(dynamo.doc, seedTable));
    }
    const singleKey = await createSeedKey(dynamo.doc, seedSingleTable);

    const ours = createAuthorizer(dynamoKeyLookup(dynamo.doc, ourTable));
    const seed = seedAuthorizer(dynamo.doc, seedTable);
    const seedSingle = seedAuthorizer(dynamo.doc, seedSingleTable);
    const check = async (authorize: () => Promise<{ isAuthorized: boolean }>) => {
      const started = performance.now();
      if (!(await authorize()).isAuthorized) throw new Error("a valid key was denied");
      return performance.now() - started;
    };

    for (const key of ourKeys) await check(() => ours(authorizerEvent(`Bearer ${key}`)));
    const logBytesPerCheck = logBytes / ourKeys.length;
    const oursMs: number[] = [];
    const seedMs: number[] = [];
    const seedSingleMs: number[] = [];
    for (let i = 0; i < KEYS; i++) {
      seedMs.push(await check(() => seed(`Bearer ${seedKeys[i]}`)));
      for (let j = 0; j < OURS_PER_SEED_CHECK; j++) oursMs.push(await check(() => ours(authorizerEvent(`Bearer ${ourKeys[(i + j) % KEYS]}`))));
      if (i < SINGLE_KEY_CHECKS) seedSingleMs.push(await check(() => seedSingle(`Bearer ${singleKey}`)));
    }
    return {
      bcrypt_authorizer_ratio: ratio(median(seedMs), median(oursMs)),
      bcrypt_single_key_ratio: ratio(median(seedSingleMs), median(oursMs)),
      seed_check_ms: round(median(seedMs), 1),
      seed_single_key_check_ms: round(median(seedSingleMs), 1),
      our_check_ms: round(median(oursMs)),
      log_bytes_per_check: Math.round(logBytesPerCheck),
      keys: KEYS,
      bcrypt_cost: SEED_BCRYPT_COST,
    };
  } finally {
    setLogSink(restoreSink);
    await dynamo.close();
  }
}
