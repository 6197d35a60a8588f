/**
 * The seed's API key check, for comparison only: keys stored as bcrypt hashes, so a presented key
 * cannot be looked up; every check scans the keys table and bcrypt-compares until one matches.
 * No cache. (Ours: docs/adr/0006 — the key id is the table key, the secret a SHA-256 digest.)
 */
import { randomBytes } from "node:crypto";
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as bcrypt from "bcryptjs";

/** bcryptjs's default cost factor. */
export const SEED_BCRYPT_COST = 10;

interface SeedKeyItem {
  key_id: string;
  key_hash: string;
  scopes: string;
}

/** Creates a seed key; returns the plaintext key. */
export async function createSeedKey(doc: DynamoDBDocumentClient, tableName: string): Promise<string> {
  const key = `sk_${randomBytes(24).toString("hex")}`;
  const item: SeedKeyItem = { key_id: randomBytes(8).toString("hex"), key_hash: bcrypt.hashSync(key, SEED_BCRYPT_COST), scopes: "ingest read" };
  await doc.send(new PutCommand({ TableName: tableName, Item: item }));
  return key;
}

export function seedAuthorizer(doc: DynamoDBDocumentClient, tableName: string) {
  return async (authorization: string | undefined): Promise<{ isAuthorized: boolean }> => {
    const key = /^Bearer +(\S+)$/i.exec(authorization ?? "")?.[1];
    if (!key) return { isAuthorized: false };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
      for (const item of (page.Items ?? []) as SeedKeyItem[]) {
        if (await bcrypt.compare(key, item.key_hash)) return { isAuthorized: true };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { isAuthorized: false };
  };
}
