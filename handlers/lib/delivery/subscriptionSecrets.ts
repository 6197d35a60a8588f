/**
 * Reading a subscription's signing secrets from SSM Parameter Store (SecureString) through the
 * shared cached reader (ops/secretParameters.ts), like the webhook secrets (docs/adr/0020): a
 * rotation reaches warm deliverers within the cache age, and during a rotation both secrets sign.
 * Secrets are never logged. The endpoint comes from AWS_ENDPOINT_URL_SSM when set (the local stack).
 */
import { SecretParameterReadError, ssmSecretParameters } from "../ops/secretParameters";
import { decodeSubscriptionSecrets, type DeliveryTarget } from "./subscriptions";

export interface SubscriptionSecretStore {
  /** The signing secrets of `target`, current first; throws SigningSecretsUnavailableError when it cannot tell. */
  secretsOf(target: DeliveryTarget): Promise<string[]>;
}

/** The secrets could not be read: the delivery waits and is retried, no attempt is counted. */
export class SigningSecretsUnavailableError extends Error {
  constructor(readonly subscription: string, readonly reason: string) {
    super(`the signing secrets of subscription "${subscription}" could not be read (${reason})`);
    this.name = "SigningSecretsUnavailableError";
  }
}

export const SUBSCRIPTION_SECRET_CACHE_SECONDS = 300;

export function ssmSubscriptionSecretStore(maxAgeSeconds = SUBSCRIPTION_SECRET_CACHE_SECONDS): SubscriptionSecretStore {
  const parameters = ssmSecretParameters(maxAgeSeconds);
  return {
    async secretsOf(target) {
      let value: unknown;
      try {
        value = await parameters.read(target.secretParameter);
      } catch (error) {
        throw new SigningSecretsUnavailableError(target.name, error instanceof SecretParameterReadError ? error.reason : "Error");
      }
      if (typeof value !== "string") throw new SigningSecretsUnavailableError(target.name, "parameter not found");
      try {
        return decodeSubscriptionSecrets(value);
      } catch {
        throw new SigningSecretsUnavailableError(target.name, "parameter value is not a JSON array of whsec_ secrets");
      }
    },
  };
}
