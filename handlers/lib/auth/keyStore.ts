/** API key administration against a keys table: create (the only time the key is shown), list, revoke. */
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { generateApiKey, type ApiKeyRecord, type NewApiKey } from "./apiKeys";
import { API_KEYS_TABLE } from "../primitives/tables";
import type { Scope } from "../../routes";

/** What `list` shows: everything but the digest. */
export type ApiKeySummary = Omit<ApiKeyRecord, "secret_sha256">;

export class ApiKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async create(name: string, scopes: readonly Scope[]): Promise<NewApiKey> {
    const key = generateApiKey(name, scopes);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: key.record,
        ConditionExpression: "attribute_not_exists(#id)",
        ExpressionAttributeNames: { "#id": API_KEYS_TABLE.partitionKey.name },
      }),
    );
    return key;
  }

  async list(): Promise<ApiKeySummary[]> {
    const items: ApiKeySummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: "key_id, #n, scopes, created_at, revoked_at, scope_version",
          ExpressionAttributeNames: { "#n": "name" },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((page.Items ?? []) as ApiKeySummary[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Marks the key revoked; the authorizer denies it once API Gateway's cached decision expires. */
  async revoke(keyId: string): Promise<ApiKeySummary | undefined> {
    const existing = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { key_id: keyId } }));
    if (!existing.Item) return undefined;
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { key_id: keyId },
        UpdateExpression: "SET revoked_at = if_not_exists(revoked_at, :now)",
        ConditionExpression: "attribute_exists(key_id)",
        ExpressionAttributeValues: { ":now": new Date().toISOString() },
        ReturnValues: "ALL_NEW",
      }),
    );
    const { secret_sha256: _digest, ...summary } = Attributes as ApiKeyRecord;
    return summary;
  }
}
