/**
 * SecureString parameters read through Powertools' parameters utility, decrypted by SSM and cached
 * in memory for `maxAgeSeconds`: the first read after a cold start goes to SSM, later ones use the
 * cache, so a rotation reaches warm functions within that time (docs/adr/0020). Two short attempts,
 * so a caller that cannot read in time answers "retry later" instead of waiting. The endpoint comes
 * from AWS_ENDPOINT_URL_SSM when set (the local stack). Webhook sources and subscriptions both read
 * their signing secrets with it; values are never logged.
 */
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";

export interface SecretParameters {
  /** The parameter's decrypted value (undefined when it does not exist); throws SecretParameterReadError when SSM cannot tell. */
  read(name: string): Promise<unknown>;
}

/** SSM could not answer (throttled, down, denied): `reason` is the error's name or SDK code only, never its message. */
export class SecretParameterReadError extends Error {
  constructor(readonly reason: string) {
    super(`the parameter could not be read (${reason})`);
    this.name = "SecretParameterReadError";
  }
}

export function ssmSecretParameters(maxAgeSeconds: number): SecretParameters {
  const provider = new SSMProvider({
    clientConfig: { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true } },
  });
  return {
    async read(name) {
      try {
        return await provider.get(name, { decrypt: true, maxAge: maxAgeSeconds });
      } catch (error) {
        // The error's name and SDK code only: its message could quote a request, never a secret, but stay safe.
        throw new SecretParameterReadError((error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name ?? "Error");
      }
    },
  };
}
