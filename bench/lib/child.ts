/** Servers under load run in their own process (this one generates the load); they talk over IPC. */
import { fork, type ChildProcess } from "node:child_process";

export interface ChildServer<T> {
  info: T;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** @default ["--require", "tsx/cjs"] (a TypeScript module) */
  execArgv?: string[];
  /** The child's whole environment. @default this process's, without the SDK's Node version warning */
  env?: NodeJS.ProcessEnv;
  /** Sent to the child once it is forked, for a child that waits for its input before answering. */
  input?: unknown;
}

/** Forks a module that sends one message (`info`) once it is serving (or done); `stop` disconnects it. */
export function startChildServer<T>(modulePath: string, options: ChildOptions = {}): Promise<ChildServer<T>> {
  const child: ChildProcess = fork(modulePath, [], {
    execArgv: options.execArgv ?? ["--require", "tsx/cjs"],
    env: options.env ?? { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    // The handlers' JSON log lines (one per request) would only slow the load test down.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${modulePath} exited with code ${code} before answering`)));
    child.once("message", (info) => {
      child.removeAllListeners("exit");
      resolve({
        info: info as T,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || !child.connected) return done();
            child.once("exit", () => done());
            child.disconnect();
          }),
      });
    });
    if (options.input !== undefined) child.send(options.input as object);
  });
}

/** In the child: report `info` to the parent, and clean up when the parent disconnects. */
export function serveUntilParentLeaves(info: unknown, cleanup: () => Promise<void>): void {
  process.send!(info);
  process.once("disconnect", () => {
    void cleanup().finally(() => process.exit(0));
  });
}
