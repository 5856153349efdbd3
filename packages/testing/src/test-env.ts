import { inject } from "vitest";
import type { TEST_ENV_KEYS } from "./test-env-keys.js";

/**
 * The few environment variables the test kit honours. Only entry points read `process.env`: under
 * vitest that is vitest.config.ts, which hands them over with `provide`; scripts (bench, topology)
 * pass their own `process.env`.
 */
export type TestEnv = Partial<Record<(typeof TEST_ENV_KEYS)[number], string | undefined>>;

declare module "vitest" {
  export interface ProvidedContext {
    testEnv: TestEnv;
  }
}

/** The environment vitest.config.ts provided (only inside a vitest run). */
export function testEnv(): TestEnv {
  return inject("testEnv");
}

/** What a child process inherits: PATH and HOME only, so a test never depends on the caller's shell. */
export function childEnv(env: TestEnv = testEnv()): Record<string, string> {
  return {
    ...(env.PATH ? { PATH: env.PATH } : {}),
    ...(env.HOME ? { HOME: env.HOME } : {}),
  };
}
