/** Lambda entry for the API key authorizer. */
import { createAuthorizer, dynamoKeyLookup } from "./lib/authorize";
import { requireEnv } from "./lib/config";
import { createDocumentClient } from "./lib/store";
import { ENV } from "./lib/tables";

export const handler = createAuthorizer(dynamoKeyLookup(createDocumentClient(), requireEnv(process.env, ENV.apiKeysTable)));
