/** Loaded by mocha before any test (see .mocharc.json). */
import { removeTempDirs } from "./tempDirs";

// The SDK's Node 22 notice is noise on the Node 20 machines the tests run on (see local/dev.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

/** Root hooks: after the last test, every folder made through tempDir() is removed. */
export const mochaHooks = {
  afterAll(): void {
    removeTempDirs();
  },
};
