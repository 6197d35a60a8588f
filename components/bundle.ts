/**
 * Bundles a handler entry with esbuild, in memory, while the program runs. The local stack loads
 * these very bytes, so what is tested locally is what deploys. No Pulumi imports here.
 */
import * as path from "node:path";
import { buildSync, type BuildOptions } from "esbuild";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** node20 runs both here (Node 20) and on Lambda's nodejs24.x. */
export const BUNDLE_TARGET = "node20";

/** ESM bundles keep CommonJS dependencies (the AWS SDK) working through a real `require`. */
const REQUIRE_SHIM = 'import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);';

/** The esbuild options of every handler bundle (the benchmark builds its variants from these). */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: BUNDLE_TARGET,
  minify: true,
  legalComments: "none",
  charset: "utf8",
  banner: { js: REQUIRE_SHIM },
  mainFields: ["module", "main"],
  write: false,
  logLevel: "silent",
} as const satisfies BuildOptions;

const cache = new Map<string, string>();

/**
 * The ESM source of a handler entry (`handlers/ingest.ts`), minified, with the AWS SDK bundled
 * in (pinned, the same version locally and in AWS; see docs/adr/0003). Deterministic: the same
 * sources give the same bytes, so a preview with no source change shows no diff.
 */
export function bundleHandler(entry: string): string {
  const cached = cache.get(entry);
  if (cached !== undefined) return cached;
  const result = buildSync({ ...BUNDLE_OPTIONS, entryPoints: [path.join(PROJECT_ROOT, entry)] });
  const code = result.outputFiles[0]!.text;
  cache.set(entry, code);
  return code;
}

/** File name of the bundle inside the function's archive; `.mjs` makes Node load it as ESM. */
export const BUNDLE_FILE = "index.mjs";
export const BUNDLE_HANDLER = "index.handler";
