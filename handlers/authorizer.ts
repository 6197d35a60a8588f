/** Lambda entry for the API key authorizer. */
import { createAuthorizer, dynamoKeyLookup } from "./lib/auth/authorize";
import { requireEnv } from "./lib/ops/config";
import { createDocumentClient } from "./lib/store/store";
import { ENV } from "./lib/primitives/tables";

// Two attempts, not three: the worst case (2 × 2 s plus backoff) must end inside the 5 s function
// timeout, so a hung keys table fails the invocation with a logged reason, not a silent timeout.
// Either way API Gateway answers 500 and caches nothing.
export const handler = createAuthorizer(
  dynamoKeyLookup(createDocumentClient({ maxAttempts: 2 }), requireEnv(process.env, ENV.apiKeysTable)),
);
