/** Runs an operation N times with a fixed number in flight, recording each latency. */

export interface BlockResult {
  latenciesMs: number[];
  elapsedMs: number;
  /** Completed operations per second over the block. */
  perSecond: number;
  /** CPU time of this process per operation, µs: unlike wall time, not stretched by other tenants. */
  cpuUsPerOp: number;
}

/** `operation(i)` for i in 0..count-1, at most `concurrency` at a time. */
export async function runBlock(operation: (i: number) => Promise<unknown>, count: number, concurrency = 1): Promise<BlockResult> {
  const latenciesMs = new Array<number>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      await operation(i);
      latenciesMs[i] = performance.now() - started;
    }
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { latenciesMs, elapsedMs, perSecond: (count * 1000) / elapsedMs, cpuUsPerOp: (cpu.user + cpu.system) / count };
}

/**
 * Runs one block of each variant per round, forwards in even rounds and backwards in odd ones, so
 * no variant always runs first and machine noise falls on every variant alike.
 */
export async function interleave<K extends string>(rounds: number, variants: Record<K, () => Promise<BlockResult>>): Promise<Record<K, BlockResult[]>> {
  const names = Object.keys(variants) as K[];
  const results = Object.fromEntries(names.map((n) => [n, [] as BlockResult[]])) as Record<K, BlockResult[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) results[name].push(await variants[name]());
  }
  return results;
}
