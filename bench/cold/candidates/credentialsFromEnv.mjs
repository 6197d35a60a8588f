// Candidate for components/bundle.ts (an esbuild alias of @aws-sdk/credential-provider-node):
// Lambda, and the local stack, hand a function its credentials in environment variables, so the
// SDK's default chain (SSO, INI files, processes, web identity, IMDS …) is never used there.
import { fromEnv } from "@aws-sdk/credential-provider-env";

export const defaultProvider = (init) => fromEnv(init);
