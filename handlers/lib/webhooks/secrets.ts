/**
 * Reading a source's secrets from SSM Parameter Store (SecureString, decrypted by SSM with the
 * AWS-managed key) through Powertools' parameters utility, cached in memory: the first delivery
 * after a cold start reads the parameter, later ones use the cache until it is `maxAgeSeconds` old,
 * so a rotation reaches warm functions within that time (docs/adr/0020). Secrets are never logged.
 * The endpoint comes from AWS_ENDPOINT_URL_SSM when set (the local stack sets it).
 */
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { decodeSecrets, type WebhookSource } from "./sources";

export interface SecretStore {
  /** The accepted secrets of `source`, current first; throws SecretsUnavailableError when it cannot tell. */
  secretsOf(source: WebhookSource): Promise<string[]>;
}

/** The secrets could not be read (SSM throttled or down, parameter missing): answer 503, senders retry. */
export class SecretsUnavailableError extends Error {
  constructor(readonly source: string, readonly reason: string) {
    super(`the secrets of webhook source "${source}" could not be read (${reason})`);
    this.name = "SecretsUnavailableError";
  }
}

/** How long a warm function trusts its cached secrets: the longest a rotation waits. */
export const SECRET_CACHE_SECONDS = 300;

export function ssmSecretStore(maxAgeSeconds = SECRET_CACHE_SECONDS): SecretStore {
  // Two short attempts: a delivery that cannot be verified in time gets a 503 and the sender retries.
  const provider = new SSMProvider({
    clientConfig: { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true } },
  });
  return {
    async secretsOf(source) {
      let value: unknown;
      try {
        value = await provider.get(source.parameter, { decrypt: true, maxAge: maxAgeSeconds });
      } catch (error) {
        // The error's name and SDK code only: its message could quote a request, never a secret, but stay safe.
        const cause = (error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name ?? "Error";
        throw new SecretsUnavailableError(source.name, cause);
      }
      return secretsFromParameter(source, value);
    },
  };
}

/**
 * The accepted secrets in a parameter's value, or SecretsUnavailableError (503, nothing stored)
 * when it holds none a delivery may be verified with: missing, not a JSON array of one or two
 * secrets, or a secret that fails the strength rule of its source's scheme (decodeSecrets).
 */
export function secretsFromParameter(source: WebhookSource, value: unknown): string[] {
  if (typeof value !== "string") throw new SecretsUnavailableError(source.name, "parameter not found");
  try {
    return decodeSecrets(value, source.scheme);
  } catch (error) {
    throw new SecretsUnavailableError(source.name, `parameter value refused: ${(error as Error).message}`);
  }
}
