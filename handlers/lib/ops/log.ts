/**
 * Structured JSON logs, one object per line with a stable key set. Written straight to stdout so
 * Lambda's JSON log format keeps them as-is. Callers pass identifiers, never API keys or payloads.
 */

export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

type Sink = (line: string) => void;
let sink: Sink = (line) => {
  process.stdout.write(line + "\n");
};

/** Replaces where log lines go (tests capture them); returns the previous sink. */
export function setLogSink(next: Sink): Sink {
  const previous = sink;
  sink = next;
  return previous;
}

export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  sink(JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields }));
}
