// A fresh Node process imports one module (and with it the clients it constructs at module scope)
// and reports, in milliseconds since the process began, when its handler was ready.
// Plain ESM with no loader, so nothing but the module under test adds to the time.
import { pathToFileURL } from "node:url";

const started = performance.now();
const mod = await import(pathToFileURL(process.argv[2]).href);
const ready = performance.now();
if (typeof mod.handler !== "function") throw new Error(`${process.argv[2]} exports no handler`);
process.stdout.write(JSON.stringify({ ready_ms: ready, import_ms: ready - started }));
