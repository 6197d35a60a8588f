/** Lambda entry for GET /openapi.json; the document is built once per cold start. */
import { json } from "./lib/http/http";
import { buildOpenApiDocument } from "./lib/api/openapi";
import { httpHandler } from "./lib/http/request";

const document = buildOpenApiDocument();
export const handler = httpHandler(async () => json(200, document, { "cache-control": "public, max-age=300" }));
