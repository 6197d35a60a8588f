/**
 * Lambda entry for GET /openapi.json and GET /catalog: documents generated once per cold start from
 * the route table, the request schemas and the event catalogue bundled in (events/catalog.ts).
 */
import { json } from "./lib/http/http";
import { buildOpenApiDocument } from "./lib/api/openapi";
import { catalogListing } from "./lib/api/catalogDocument";
import { httpHandler } from "./lib/http/request";
import { ROUTES } from "./routes";
import { catalog } from "../events/catalog";

const document = buildOpenApiDocument(ROUTES, catalog);
const listing = catalogListing(catalog);
export const handler = httpHandler(async (event, ctx) =>
  event.routeKey === "GET /catalog"
    ? json(200, { ...listing, request_id: ctx.requestId }, { "cache-control": "private, max-age=300" })
    : json(200, document, { "cache-control": "public, max-age=300" }),
);
