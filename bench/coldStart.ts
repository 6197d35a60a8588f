/**
 * Cold start: every function's bundle in both packagings (SDK bundled, SDK external), its size,
 * and its init time (fresh process → module imported, clients constructed) relative to a fresh
 * process importing an empty module, as the median over rounds of the per-round ratio.
 */
import { deflateRawSync } from "node:zlib";
import {
  assertMirrorsShippedBuild,
  CANDIDATES,
  FUNCTIONS,
  packageCandidate,
  packageHandler,
  PACKAGINGS,
  writeBundle,
  writeEmptyModule,
  type Candidate,
  type Packaging,
} from "./cold/packagings";
import type { InitSamples } from "./cold/measureInit";
import { median, round } from "./lib/stats";

export const EMPTY_MODULE = "empty";
export const moduleName = (fn: string, packaging: Packaging | Candidate) => `${fn}:${packaging}`;

export interface BundleSize {
  bytes: number;
  /** Deflated, about what the function's zip archive holds. */
  zipped_bytes: number;
}

export interface PreparedBundles {
  /** Module name → file, for measureInitTimes. */
  modules: Record<string, string>;
  sizes: Record<string, BundleSize>;
}

export function prepareBundles(): PreparedBundles {
  const modules: Record<string, string> = { [EMPTY_MODULE]: writeEmptyModule() };
  const sizes: Record<string, BundleSize> = {};
  for (const [fn, entry] of Object.entries(FUNCTIONS)) {
    assertMirrorsShippedBuild(entry);
    for (const packaging of PACKAGINGS) {
      const code = packageHandler(entry, packaging);
      const name = moduleName(fn, packaging);
      modules[name] = writeBundle(fn, packaging, code);
      sizes[name] = sizeOf(code);
    }
  }
  for (const candidate of Object.keys(CANDIDATES) as Candidate[]) {
    const code = packageCandidate(FUNCTIONS.ingest!, candidate);
    const name = moduleName("ingest", candidate);
    modules[name] = writeBundle("ingest", candidate, code);
    sizes[name] = sizeOf(code);
  }
  return { modules, sizes };
}

export function sizeOf(code: string): BundleSize {
  return { bytes: Buffer.byteLength(code), zipped_bytes: deflateRawSync(code).length };
}

/** Median over rounds of `module`'s ready time divided by `baseline`'s in the same round. */
export function initRatio(samples: InitSamples, module: string, baseline = EMPTY_MODULE): number {
  const a = samples[module]!.ready_ms;
  const b = samples[baseline]!.ready_ms;
  return round(median(a.map((ms, i) => ms / b[i]!)));
}

export interface FunctionColdStart extends BundleSize {
  ready_ms: number;
  import_ms: number;
  init_ratio: number;
}

export interface ColdStartResult {
  /** The ingest bundle with the SDK external (the goal's packaging). */
  ingest_bundle_bytes: number;
  ingest_bundle_bytes_sdk_bundled: number;
  /** The ingest function's init ratio in the faster packaging, the one to ship. */
  init_ratio: number;
  faster_packaging: Packaging;
  processes_per_module: number;
  empty_module_ready_ms: number;
  functions: Record<string, Record<Packaging, FunctionColdStart>>;
  /** The ingest function built two other ways (see CANDIDATES in cold/packagings.ts). */
  ingest_candidates: Record<Candidate, FunctionColdStart>;
}

export function summarizeColdStart(prepared: PreparedBundles, samples: InitSamples): ColdStartResult {
  const figures = (name: string): FunctionColdStart => ({
    ...prepared.sizes[name]!,
    ready_ms: round(median(samples[name]!.ready_ms), 1),
    import_ms: round(median(samples[name]!.import_ms), 1),
    init_ratio: initRatio(samples, name),
  });
  const functions: ColdStartResult["functions"] = {};
  for (const fn of Object.keys(FUNCTIONS)) {
    functions[fn] = Object.fromEntries(PACKAGINGS.map((p) => [p, figures(moduleName(fn, p))])) as Record<Packaging, FunctionColdStart>;
  }
  const candidates = Object.fromEntries((Object.keys(CANDIDATES) as Candidate[]).map((c) => [c, figures(moduleName("ingest", c))])) as Record<Candidate, FunctionColdStart>;
  const ingest = functions.ingest!;
  const faster: Packaging = ingest.sdk_bundled.init_ratio <= ingest.sdk_external.init_ratio ? "sdk_bundled" : "sdk_external";
  return {
    ingest_bundle_bytes: ingest.sdk_external.bytes,
    ingest_bundle_bytes_sdk_bundled: ingest.sdk_bundled.bytes,
    init_ratio: ingest[faster].init_ratio,
    faster_packaging: faster,
    processes_per_module: samples[EMPTY_MODULE]!.ready_ms.length,
    empty_module_ready_ms: round(median(samples[EMPTY_MODULE]!.ready_ms), 1),
    functions,
    ingest_candidates: candidates,
  };
}

