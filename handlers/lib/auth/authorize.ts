/**
 * The API Gateway Lambda authorizer (payload format 2.0, simple responses). A key that is
 * unknown, malformed, wrong or revoked is denied. A storage fault is not a verdict on the key: the
 * invocation fails, API Gateway answers 500 and caches nothing, so a transient error cannot lock
 * a valid key out for the cache TTL as a cached deny would (docs/adr/0023). The log line carries
 * the reason and the public key id, never the key.
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { verifyApiKey, type ApiKeyRecord, type KeyLookup } from "./apiKeys";
import { log } from "../ops/log";
import type { AuthorizerContext } from "../http/request";
import { errorName } from "../primitives/faults";
import { API_KEYS_TABLE } from "../primitives/tables";

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

export function dynamoKeyLookup(doc: DynamoDBDocumentClient, tableName: string): KeyLookup {
  return async (keyId) => {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { [API_KEYS_TABLE.partitionKey.name]: keyId } }));
    return Item as ApiKeyRecord | undefined;
  };
}

export function createAuthorizer(lookup: KeyLookup) {
  let coldStart = true;
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const started = performance.now();
    const fields: Record<string, string | number | boolean | undefined> = {
      request_id: event.requestContext?.requestId,
      route: event.routeKey,
      cold_start: coldStart,
    };
    coldStart = false;
    let result: AuthorizerResult = { isAuthorized: false, context: {} };
    let fault: unknown;
    try {
      const authorization = event.identitySource?.[0] ?? event.headers?.authorization;
      const verdict = await verifyApiKey(authorization, lookup);
      fields.key_id = verdict.keyId;
      if (verdict.ok) {
        result = { isAuthorized: true, context: { key_id: verdict.keyId, scopes: verdict.scopes.join(" ") } };
        if (verdict.impliedAck) fields.implied_ack = true; // a key to reissue (ADR 0006)
      } else {
        fields.reason = verdict.reason;
      }
    } catch (error) {
      fault = error;
      fields.reason = "error";
      fields.error = errorName(error) ?? "Error";
    }
    fields.decision = fault !== undefined ? "error" : result.isAuthorized ? "allow" : "deny";
    fields.duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
    log(fault !== undefined ? "ERROR" : result.isAuthorized ? "INFO" : "WARN", "authorize", fields);
    // A plain message: the SDK's error may name the table or endpoint; Lambda logs what is thrown.
    if (fault !== undefined) throw new Error(`api key lookup failed (${fields.error}); the request may be retried`);
    return result;
  };
}
