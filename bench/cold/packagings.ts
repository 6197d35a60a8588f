/**
 * The two ways to package a handler: the shipped bundle (components/bundle.ts, AWS SDK inside) and
 * the same build with the SDK left to the Lambda runtime (`@aws-sdk/*` external). The external
 * build repeats bundle.ts's esbuild options; `assertMirrorsShippedBuild` proves it does, byte for
 * byte, so the two packagings differ only in where the SDK comes from.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { BUNDLE_FILE, BUNDLE_OPTIONS, bundleHandler, PROJECT_ROOT } from "../../components/bundle";
import { AUTHORIZER_HANDLER, HANDLERS } from "../../handlers/routes";

export type Packaging = "sdk_bundled" | "sdk_external";
export const PACKAGINGS: readonly Packaging[] = ["sdk_bundled", "sdk_external"];

/** Inside the project, so that Node resolves an external `@aws-sdk/*` from its node_modules. */
export const BUILD_DIR = path.join(PROJECT_ROOT, ".build", "bench");

/** Every function the stack deploys: the route handlers and the authorizer. */
export const FUNCTIONS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(HANDLERS).map(([name, spec]) => [name, spec.entry])),
  authorizer: AUTHORIZER_HANDLER.entry,
};

const candidate = (file: string) => path.join(__dirname, "candidates", file);

/**
 * Not shipped; measured for the ingest function to show what two changes would buy: the SDK's
 * credential chain cut down to environment variables (what Lambda provides), and no SDK at all
 * (the floor of our own code and zod, which a smaller DynamoDB client could approach).
 */
export const CANDIDATES = {
  sdk_bundled_env_credentials: { "@aws-sdk/credential-provider-node": candidate("credentialsFromEnv.mjs") },
  no_sdk: Object.fromEntries(["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@aws-sdk/util-dynamodb"].map((p) => [p, candidate("noSdk.mjs")])),
} as const;
export type Candidate = keyof typeof CANDIDATES;

export function packageCandidate(entry: string, name: Candidate): string {
  return build(entry, [], CANDIDATES[name]);
}

function build(entry: string, external: string[], alias: Record<string, string> = {}): string {
  const result = buildSync({ ...BUNDLE_OPTIONS, entryPoints: [path.join(PROJECT_ROOT, entry)], external, alias });
  return result.outputFiles[0]!.text;
}

export function packageHandler(entry: string, packaging: Packaging): string {
  return packaging === "sdk_bundled" ? bundleHandler(entry) : build(entry, ["@aws-sdk/*"]);
}

export function assertMirrorsShippedBuild(entry: string): void {
  if (build(entry, []) !== bundleHandler(entry)) {
    throw new Error(`bench/cold/packagings.ts no longer mirrors components/bundle.ts for ${entry}; copy its esbuild options again`);
  }
}

/** Writes the bundle where the init probe can import it; returns the file. */
export function writeBundle(name: string, packaging: Packaging | Candidate, code: string): string {
  const file = path.join(BUILD_DIR, packaging, name, BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

/** The baseline: a module with nothing in it. */
export function writeEmptyModule(): string {
  const file = path.join(BUILD_DIR, "empty", BUNDLE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "export const handler = async () => ({});\n");
  return file;
}
