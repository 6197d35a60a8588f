/**
 * Reading a subscription's signing secrets from SSM Parameter Store (SecureString) through
 * Powertools' parameters utility, cached in memory like the webhook secrets (docs/adr/0020): a
 * rotation reaches warm deliverers within the cache age, and during a rotation both secrets sign.
 * Secrets are never logged. The endpoint comes from AWS_ENDPOINT_URL_SSM when set (the local stack).
 */
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
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
  const provider = new SSMProvider({
    clientConfig: { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true } },
  });
  return {
    async secretsOf(target) {
      let value: unknown;
      try {
        value = await provider.get(target.secretParameter, { decrypt: true, maxAge: maxAgeSeconds });
      } catch (error) {
        const cause = (error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name ?? "Error";
        throw new SigningSecretsUnavailableError(target.name, cause);
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
