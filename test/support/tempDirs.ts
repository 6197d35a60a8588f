/**
 * Temporary folders for tests. Each one is recorded and removed when the run ends (the root hook in
 * test/support/setup.ts), so a test that forgets, or fails before its own cleanup, leaves nothing
 * in the temp dir.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const created = new Set<string>();

/** A new empty folder `<tmpdir>/<prefix>XXXXXX`, removed at the end of the run at the latest. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
  created.clear();
}
