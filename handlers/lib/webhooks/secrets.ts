/**
 * Reading a source's secrets from SSM Parameter Store (SecureString, decrypted by SSM with the
 * AWS-managed key) through the shared cached reader (ops/secretParameters.ts): a rotation reaches
 * warm functions within `maxAgeSeconds` (docs/adr/0020). Secrets are never logged.
 */
import { SecretParameterReadError, ssmSecretParameters } from "../ops/secretParameters";
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
  const parameters = ssmSecretParameters(maxAgeSeconds);
  return {
    async secretsOf(source) {
      let value: unknown;
      try {
        value = await parameters.read(source.parameter);
      } catch (error) {
        throw new SecretsUnavailableError(source.name, error instanceof SecretParameterReadError ? error.reason : "Error");
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
