import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { TEST_ENV_KEYS } from "./packages/testing/src/test-env-keys.js";

// Workspace packages are consumed from source through the "@threadline/source" export condition.
// No "import" here: vite applies import/require by itself, and vitest also hands this list to Node as
// --conditions, where "import" would make a CommonJS `require` load a package's ESM entry (e.g.
// @fastify/websocket's require("ws") got ws's wrapper.mjs, which has no `Server`).
const conditions = ["@threadline/source", "node", "module", "default"];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: ["@threadline/source"] } };

/**
 * Projects whose files share one module graph instead of importing it again per file (`isolate:
 * false`): their files import a whole service (Fastify, BullMQ, ioredis, prom-client), and importing
 * it again per file was most of the API suite's time (52.7 s of imports for its 15 files isolated,
 * 12.3 s shared; 89.7 s -> 62.7 s in all). Their tests keep no module state between files: every
 * app, registry, queue and Redis is built per test or per file and closed by its hooks.
 */
const SHARED_MODULE_PROJECTS = new Set(["api", "gateway", "redis"]);

/** One project per workspace package (named after its folder), plus the cross-service suites in tests/. */
function packageProjects() {
  return ["packages", "services"].flatMap((group) =>
    readdirSync(group, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`${group}/${d.name}/package.json`))
      .map((d) => ({
        resolve,
        ssr,
        test: {
          name: d.name,
          root: `${group}/${d.name}`,
          include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
          isolate: !SHARED_MODULE_PROJECTS.has(d.name),
          // Projects do not inherit the root's timeouts: property tests take seconds on a loaded 2-core box.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      })),
  );
}

// The test run's entry point: the only place tests read the environment (packages/testing's testEnv()).
const testEnv = Object.fromEntries(TEST_ENV_KEYS.map((key) => [key, process.env[key]]));

export default defineConfig({
  test: {
    provide: { testEnv },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    passWithNoTests: true,
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
    projects: [
      ...packageProjects(),
      {
        resolve,
        ssr,
        // Cross-service suites spawn real processes: one file at a time keeps a 2-core machine honest.
        test: {
          name: "e2e",
          root: "tests",
          include: ["**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          fileParallelism: false,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
