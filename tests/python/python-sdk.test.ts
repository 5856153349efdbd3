import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childEnv, testEnv } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../support/stack.js";

// The Python SDK (packages/python) tested with Debian's python3 + pytest against the real stack:
// this file starts api + gateway on a real Redis and runs pytest as a child process.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = testEnv().PYTHON ?? "/usr/bin/python3";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 0, envFor: { api: { EXTERNAL_RUN_CHECK_MS: "200" } } });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** Runs pytest on packages/python/tests; resolves with its exit code and output. */
function runPytest(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(
      PYTHON,
      ["-m", "pytest", "-q", "-p", "no:cacheprovider", "packages/python/tests", ...args],
      {
        cwd: ROOT,
        env: { ...childEnv(), PYTHONPATH: "packages/python", PYTHONDONTWRITEBYTECODE: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

describe("Python SDK (Debian python3 + pytest, real stack)", () => {
  it("pytest packages/python/tests passes", { timeout: 240_000 }, async () => {
    const { code, output } = await runPytest({
      THREADLINE_API_URL: stack.api.url,
      THREADLINE_GATEWAY_URL: stack.gateway.url,
      REDIS_URL: stack.redisUrl,
      THREADLINE_TOKEN: stack.bearer("python-sdk").slice("Bearer ".length),
      THREADLINE_ADMIN_TOKEN: stack.bearer("python-admin", { role: "admin" }).slice("Bearer ".length),
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/\b15 passed/);
  });
});
