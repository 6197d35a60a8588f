/** Lambda entry for the API key authorizer. */
import { createAuthorizer, dynamoKeyLookup } from "./lib/authorize";
import { requireEnv } from "./lib/config";
import { createDocumentClient } from "./lib/store";
import { ENV } from "./lib/tables";

// Two attempts, not three: the worst case (2 × 2 s plus backoff) must end inside the 5 s function
// timeout, so a hung keys table yields a deny (403), not a Lambda timeout (500).
export const handler = createAuthorizer(
  dynamoKeyLookup(createDocumentClient({ maxAttempts: 2 }), requireEnv(process.env, ENV.apiKeysTable)),
);
