/**
 * Exponential backoff with full jitter (a uniformly random wait from 0 up to base × 2^n, capped),
 * so that many producers throttled together do not come back together; never shorter than the
 * server's Retry-After.
 */
export function backoffDelay(retry: number, baseMs: number, capMs: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retry - 1, 52));
  return Math.max(Math.floor(random() * ceiling), retryAfterMs ?? 0);
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
