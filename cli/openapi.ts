/** `npm run openapi`: writes docs/openapi.json from the route table and the schemas. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../components/bundle";
import { buildOpenApiDocument } from "../handlers/lib/api/openapi";

export const OPENAPI_FILE = path.join(PROJECT_ROOT, "docs", "openapi.json");

export function renderOpenApi(): string {
  return JSON.stringify(buildOpenApiDocument(), null, 2) + "\n";
}

if (require.main === module) {
  fs.writeFileSync(OPENAPI_FILE, renderOpenApi());
  process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`);
}
