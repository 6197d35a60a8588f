/**
 * Everything the process writes to stdout and stderr while capturing: the handlers' JSON lines, the
 * bundles' copies of them, SDK warnings, stray console calls. Nothing is printed meanwhile, so
 * capture inside a test body and restore before it ends (mocha's reporter writes to stdout too).
 */
export interface CapturedOutput {
  /** Every chunk written, in order. */
  readonly chunks: readonly string[];
  /** All output as one string. */
  text(): string;
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = function (chunk: unknown, ...rest: unknown[]) {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : String(chunk));
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    } as typeof stream.write;
  }
  return {
    chunks,
    text: () => chunks.join(""),
    restore: () => streams.forEach((stream, i) => void (stream.write = originals[i]!)),
  };
}
