import { fileURLToPath } from "node:url";
import { childEnv, startProcess } from "@threadline/testing";
import { describe, expect, it } from "vitest";

// Each real service, started with a bad env, refuses to start: exit code 1 and one clear line per
// bad variable naming it (and nothing else: no stack trace, no partial start).
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

const BAD_ENV: Record<string, string> = {
  PORT: "not-a-port",
  REDIS_URL: "http://wrong-scheme",
  LOG_LEVEL: "loud",
};
const PER_SERVICE: Record<string, [string, string]> = {
  gateway: ["HEARTBEAT_INTERVAL_MS", "-5"],
  api: ["RATE_LIMIT_RUNS_PER_MINUTE", "lots"],
  worker: ["WORKER_CONCURRENCY", "0"],
};

async function expectRefused(
  service: string,
  env: Record<string, string>,
  names = Object.keys(env),
): Promise<void> {
  const proc = await startProcess({
    name: service,
    command: process.execPath,
    args: ["--conditions=@threadline/source", "--import", "tsx", `services/${service}/src/main.ts`],
    cwd: REPO_ROOT,
    env: { ...childEnv(), ...env },
  });
  const exit = await Promise.race([
    proc.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${service} did not exit:\n${proc.output()}`)), 60_000),
    ),
  ]);
  expect(exit).toEqual({ code: 1, signal: null });
  const lines = proc.output().trim().split("\n");
  expect(lines[0]).toBe(`${service}: invalid configuration`);
  for (const name of names) {
    expect(
      lines.filter((l) => l.trimStart().startsWith(`${name}:`)),
      `one line for ${name}`,
    ).toHaveLength(1);
  }
  expect(lines).toHaveLength(1 + names.length);
  expect(proc.output()).not.toMatch(/\n\s+at /); // no stack trace
}

describe("env validation: every service refuses a bad env", () => {
  for (const service of ["gateway", "api", "worker"] as const) {
    it(`${service}: exit 1, one line per bad variable`, async () => {
      const [extraName, extraValue] = PER_SERVICE[service]!;
      await expectRefused(service, { ...BAD_ENV, [extraName]: extraValue });
    }, 90_000);
  }

  // Rules across variables are checked once every variable parses (a second round of lines).
  it("rules across variables: a too-short JWT_SECRET (api), the dev secret in production (gateway)", async () => {
    await expectRefused("api", { JWT_SECRET: "short" });
    // the line names the variable to fix (JWT_SECRET), not NODE_ENV
    await expectRefused("gateway", { NODE_ENV: "production" }, ["JWT_SECRET"]);
  }, 90_000);
});
