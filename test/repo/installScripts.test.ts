/**
 * `npm ci` prints no "install scripts not covered by allowScripts" warning: every package in the
 * lockfile that has an install script has a decision in package.json's allowScripts (README,
 * "Install scripts"). A new dependency with an install script fails here until someone decides.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";

interface LockEntry {
  name?: string;
  version?: string;
  hasInstallScript?: boolean;
}

describe("install scripts (package.json allowScripts)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };

  /** The real package name of a lockfile entry: its `name` (set for aliases such as docker-classic), else its folder. */
  const packageName = (location: string, entry: LockEntry) => entry.name ?? location.slice(location.lastIndexOf("node_modules/") + "node_modules/".length);

  it("has a decision for every installed package with an install script, by its real name (aliases included)", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([location, entry]) => location !== "" && entry.hasInstallScript)
      .map(([location, entry]) => packageName(location, entry));
    expect(withScripts).to.include.members(["esbuild", "classic-level"]);
    const decided = new Set(Object.keys(pkg.allowScripts ?? {}));
    expect([...new Set(withScripts)].filter((name) => !decided.has(name)), "add each to allowScripts, true or false, with the reason in the README").to.deep.equal([]);
  });
});
