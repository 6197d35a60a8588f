/** Captures the handlers' structured log lines (handlers/lib/ops/log.ts) instead of printing them. */
import { setLogSink } from "../../handlers/lib/ops/log";

export interface CapturedLogs {
  /** Raw lines, exactly as they would reach stdout. */
  readonly raw: string[];
  /** Parsed lines. */
  readonly lines: Record<string, unknown>[];
  /** Lines whose `message` is `message`. */
  withMessage(message: string): Record<string, unknown>[];
  restore(): void;
}

export function captureLogs(): CapturedLogs {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const previous = setLogSink((line) => {
    raw.push(line);
    lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return {
    raw,
    lines,
    withMessage: (message) => lines.filter((l) => l.message === message),
    restore: () => void setLogSink(previous),
  };
}
