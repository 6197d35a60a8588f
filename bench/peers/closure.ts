/**
 * Peer (a): the ingest handler as an inline `aws.lambda.CallbackFunction` would package it. That
 * class serializes the callback with `pulumi.runtime.serializeFunction` and uploads the result
 * with every package in package.json "dependencies" (`pulumi.runtime.computeCodePaths`). We run
 * both under mocks, as `pulumi up` would.
 *
 * Pulumi 3.248's serializer cannot serialize this handler: it captures zod schemas, whose
 * methods are bound native functions (and, under tsx, zod's internal modules are not in its
 * package exports). The error is recorded. The package size is then a lower bound (the
 * dependencies alone), and so is the init time: a module that only loads what the closure would
 * `require` from node_modules and constructs the client, none of our code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { deflateRawSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import { ingestConfigFromEnv } from "../../handlers/lib/ops/config";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { createDocumentClient, EventRepository } from "../../handlers/lib/store/store";
import { BUILD_DIR } from "../cold/packagings";

/** Packages the closure would load by `require` at init, as the serializer emits for node_modules. */
const CLOSURE_REQUIRES = ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@aws-sdk/util-dynamodb", "zod/mini", "zod/locales", "node:crypto", "node:zlib"];

/** Zip local-header plus central-directory bytes per file, besides its name twice. */
const ZIP_BYTES_PER_FILE = 30 + 46;

export interface ClosurePackage {
  serializable: boolean;
  /** First line of the serializer's error, when it failed. */
  serializer_error?: string;
  /** True when the figures below are lower bounds (the serialized text itself could not be made). */
  lower_bound: boolean;
  package_bytes: number;
  package_zipped_bytes: number;
  package_files: number;
  /** The module the init probe imports: the serialized closure, or the lower-bound module. */
  module_file: string;
}

export async function buildClosurePackage(): Promise<ClosurePackage> {
  pulumi.runtime.setMocks(
    { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs },
    "event-ingestion",
    "bench",
    false,
  );
  const dir = path.join(BUILD_DIR, "closure");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const moduleFile = path.join(dir, "__index.js");

  // What handlers/ingest.ts does at module scope, as a CallbackFunction's callbackFactory.
  const factory = () => {
    const config = ingestConfigFromEnv();
    return createIngestHandler({ config, repository: new EventRepository(createDocumentClient(), config.eventsTable) });
  };
  let serialized: string | undefined;
  let serializerError: string | undefined;
  try {
    const closure = await pulumi.runtime.serializeFunction(factory, { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true });
    serialized = closure.text;
  } catch (error) {
    serializerError = describeSerializerError(error);
  }
  fs.writeFileSync(moduleFile, serialized ?? lowerBoundModule());

  const codePaths = await pulumi.runtime.computeCodePaths({ extraExcludePackages: ["aws-sdk"] });
  const files: string[] = [];
  for (const asset of codePaths.values()) files.push(...listFiles(await (asset as pulumi.asset.FileArchive).path));
  let bytes = serialized === undefined ? 0 : Buffer.byteLength(serialized);
  let zipped = serialized === undefined ? 0 : deflateRawSync(serialized).length + ZIP_BYTES_PER_FILE;
  for (const file of files) {
    const content = fs.readFileSync(file);
    bytes += content.length;
    zipped += deflateRawSync(content).length + ZIP_BYTES_PER_FILE + 2 * Buffer.byteLength(path.relative(process.cwd(), file));
  }
  return {
    serializable: serialized !== undefined,
    ...(serializerError === undefined ? {} : { serializer_error: serializerError }),
    lower_bound: serialized === undefined,
    package_bytes: bytes,
    package_zipped_bytes: zipped,
    package_files: files.length + (serialized === undefined ? 0 : 1),
    module_file: moduleFile,
  };
}

/** The innermost reason the serializer gives ("function 'bound check': which could not be serialized …"). */
function describeSerializerError(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split("\n").map((l) => l.trim()).filter(Boolean);
  const culprit = lines.filter((l) => /could not be serialized|not found|captured/.test(l)).pop();
  return [...new Set([lines[0], culprit].filter(Boolean))].join(" … ");
}

function lowerBoundModule(): string {
  return [
    '"use strict";',
    "// Lower bound of the closure's init: what it would require from node_modules, and the client.",
    ...CLOSURE_REQUIRES.map((m) => `require(${JSON.stringify(m)});`),
    'const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");',
    'const { DynamoDBDocumentClient } = require("@aws-sdk/lib-dynamodb");',
    "const client = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 500, requestTimeout: 1500 } }), { marshallOptions: { removeUndefinedValues: true } });",
    "exports.handler = async () => client;",
    "",
  ].join("\n");
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
