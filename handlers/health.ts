/** Lambda entry for GET /health: answers without touching storage. */
import { json } from "./lib/http/http";
import { httpHandler } from "./lib/http/request";

export const handler = httpHandler(async () => json(200, { status: "ok" }));
