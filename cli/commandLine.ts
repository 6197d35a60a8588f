/**
 * The one way every `npm run` script reads its command line: `--help` prints the usage and exits 0,
 * and an unknown option or a stray argument prints the usage and exits 2, before the script does
 * anything (starts a stack, writes a file, runs load). Scripts that return a result object for
 * tests (keys, webhooks, redrive, preview) do the same through their own parseArgs call.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Usage errors exit 2 everywhere; `--help` exits 0. */
export const USAGE_EXIT_CODE = 2;

/**
 * parseArgs with `--help`/`-h` added; prints `usage` and exits on `--help` or a usage error.
 * `name` prefixes the error message (`soak: Unknown option '--bogus'`).
 */
export function parseCommandLineOrExit<O extends Options>(name: string, argv: string[], options: O, usage: string, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } } as O & { help: { type: "boolean"; short: "h" } }, allowPositionals, strict: true });
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n\n${usage}\n`);
    process.exit(USAGE_EXIT_CODE);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage + "\n");
    process.exit(0);
  }
  return parsed;
}
