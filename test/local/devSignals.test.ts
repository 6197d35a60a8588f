/**
 * `npm run dev` and signals, started exactly as a user or a process manager starts it: `npm run
 * dev`, then `kill -TERM` (or `-INT`) to the pid of npm. The node server must stop, release both
 * ports and the DATA_DIR lock, so that the next `npm run dev` on that DATA_DIR starts.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../components/bundle";
import { LOCAL_STACK_FILE } from "../../local/stack";
import { tempDataDir } from "../support/localStack";

interface DevRun {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function npmRunDev(dataDir: string): DevRun {
  let output = "";
  const npm = spawn("npm", ["run", "dev"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: "0", DYNAMODB_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  npm.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  npm.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
  return { npm, output: () => output, exited };
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
async function until(what: string, check: () => boolean, timeoutMs: number, detail: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

describe("npm run dev and signals", function () {
  this.timeout(120_000);
  const lockFile = (dataDir: string) => path.join(dataDir, ".lock");
  const serverPids: number[] = [];
  let dataDir: string;

  before(() => {
    dataDir = tempDataDir();
  });
  after(() => {
    for (const pid of serverPids) if (isAlive(pid)) process.kill(pid, "SIGKILL"); // only after a failed test
  });

  /** Starts `npm run dev`, waits for its banner, sends `signal` to npm's pid, and checks what is left. */
  async function startAndSignal(signal: NodeJS.Signals): Promise<string> {
    const run = npmRunDev(dataDir);
    await until("the banner", () => /Send an event/.test(run.output()), 90_000, run.output);
    const serverPid = Number(fs.readFileSync(lockFile(dataDir), "utf8"));
    serverPids.push(serverPid);
    expect(serverPid).not.to.equal(run.npm.pid);
    const api = /API\s+(http:\/\/\S+)/.exec(run.output())![1]!;
    const dynamo = /DynamoDB\s+(http:\/\/\S+)/.exec(run.output())![1]!;
    expect(await refusesConnections(api)).to.equal(false);

    process.kill(run.npm.pid!, signal);
    await until(`the server (pid ${serverPid}) to exit after ${signal} to npm (pid ${run.npm.pid})`, () => !isAlive(serverPid), 15_000, run.output);
    await run.exited;
    expect(fs.existsSync(lockFile(dataDir)), "the DATA_DIR lock is released").to.equal(false);
    expect(fs.existsSync(path.join(dataDir, LOCAL_STACK_FILE)), "the stack no longer says it runs").to.equal(false);
    expect(await refusesConnections(api), `${api} is closed`).to.equal(true);
    expect(await refusesConnections(dynamo), `${dynamo} is closed`).to.equal(true);
    expect(run.output()).to.include(`${signal}: stopping; data stays in ${dataDir}`);
    return run.output();
  }

  it("stops the server, frees both ports and the DATA_DIR lock on SIGTERM to the npm process", async () => {
    const output = await startAndSignal("SIGTERM");
    expect(output).to.include("Created a local API key");
  });

  it("then starts again on the same DATA_DIR, and stops the same way on SIGINT to the npm process", async () => {
    const output = await startAndSignal("SIGINT");
    expect(output).to.include("Using the local API key saved in");
    expect(output).not.to.match(/in use by another local stack/);
  });

  it("releases the DATA_DIR when SIGTERM arrives while the stack is still starting", async () => {
    const run = npmRunDev(dataDir);
    await until("the DATA_DIR lock", () => fs.existsSync(lockFile(dataDir)), 60_000, run.output);
    const serverPid = Number(fs.readFileSync(lockFile(dataDir), "utf8"));
    serverPids.push(serverPid);
    process.kill(run.npm.pid!, "SIGTERM");
    await until(`the server (pid ${serverPid}) to exit`, () => !isAlive(serverPid), 30_000, run.output);
    await run.exited;
    expect(fs.existsSync(lockFile(dataDir)), `the DATA_DIR lock is released; output:\n${run.output()}`).to.equal(false);
  });
});
