/**
 * The variables vitest.config.ts hands to the test kit (kept apart: the config cannot import vitest).
 * REDIS_URL: use this Redis instead of starting one; REDIS_SERVER_BIN, REDIS_CLI_BIN: the binaries;
 * DOCKER_HOST: an engine for testcontainers; TEST_LOG_LEVEL: pino level of in-process services
 * (default silent); PATH, HOME: all that child processes inherit; CHROMIUM_PATH: the browser tests' Chromium;
 * FUZZ_RUNS: inputs per fuzzed property (tests/security); TEST_DATABASE_URL: the PostgreSQL server
 * tests create their databases on; PYTHON: the interpreter of the Python SDK's tests (default
 * /usr/bin/python3); CHURN_COUNT: connection churns of tests/faults (`pnpm test:soak` sets 10,000).
 */
export const TEST_ENV_KEYS = [
  "REDIS_URL",
  "REDIS_SERVER_BIN",
  "REDIS_CLI_BIN",
  "DOCKER_HOST",
  "TEST_LOG_LEVEL",
  "PATH",
  "HOME",
  "CHROMIUM_PATH",
  "FUZZ_RUNS",
  "TEST_DATABASE_URL",
  "PYTHON",
  "CHURN_COUNT",
] as const;
