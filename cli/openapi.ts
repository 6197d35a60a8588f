/** `npm run openapi`: writes docs/openapi.json from the route table, the schemas and the event catalogue. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../components/bundle";
import { buildOpenApiDocument } from "../handlers/lib/api/openapi";
import { parseCommandLineOrExit } from "./commandLine";
import { ROUTES } from "../handlers/routes";
import { catalog } from "../events/catalog";

export const OPENAPI_FILE = path.join(PROJECT_ROOT, "docs", "openapi.json");

export function renderOpenApi(): string {
  return JSON.stringify(buildOpenApiDocument(ROUTES, catalog), null, 2) + "\n";
}

const USAGE = `usage: npm run openapi [-- --help]

Writes docs/openapi.json from the route table and the schemas (test/handlers/openapi.test.ts fails
when the committed file differs from what this writes).`;

if (require.main === module) {
  parseCommandLineOrExit("openapi", process.argv.slice(2), {}, USAGE);
  fs.writeFileSync(OPENAPI_FILE, renderOpenApi());
  process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`);
}
