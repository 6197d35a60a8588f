/**
 * `npm run client:build`: the client package's dist/ — one ESM file bundled by esbuild (the
 * repository's bundler; platform neutral, so it runs in Node, Lambda and edge runtimes) and the
 * .d.ts files from tsc (client/tsconfig.json, no Node types). A .cts file, because client/ is an
 * ESM package and this script needs __dirname. The pack test builds into a temp folder with it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";

export const CLIENT_DIR = __dirname;

/** Builds into `outDir` (default client/dist, emptied first) and returns it. */
export async function buildClient(outDir = path.join(CLIENT_DIR, "dist")): Promise<string> {
  fs.rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(CLIENT_DIR, "src", "index.ts")],
    outfile: path.join(outDir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(CLIENT_DIR, "tsconfig.json"), "--outDir", outDir], { stdio: "inherit" });
  return outDir;
}

if (require.main === module) {
  buildClient().then(
    (dir) => console.log(`client: built ${path.relative(process.cwd(), dir)}`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
