/** Loaded by mocha before any test (see .mocharc.json). */
import { removeTempDirs } from "./tempDirs";

// The SDK's Node 22 notice is noise on the Node 20 machines the tests run on (see local/dev.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

// `npm run coverage` measures this process only (V8 keeps writing its own coverage): child
// processes (index.ts under ts-node, `npm run dev`, a child mocha) compile the same files
// differently, and c8's merge of those would distort the figures. A no-op outside coverage.
delete process.env.NODE_V8_COVERAGE;

/** Root hooks: after the last test, every folder made through tempDir() is removed. */
export const mochaHooks = {
  afterAll(): void {
    removeTempDirs();
  },
};
