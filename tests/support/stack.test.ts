import { execFileSync } from "node:child_process";
import { freePort } from "@threadline/testing";
import { expect, it } from "vitest";
import { startStack } from "./stack.js";

/** The services this test process spawned that are still running (`ps` lists its children). */
function runningServices(): string[] {
  const out = execFileSync("ps", ["-o", "args=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out.split("\n").filter((line) => /services\/\w+\/src\/main\.ts/.test(line));
}

it("a service that fails to start stops the ones still starting, and the failure names it", async () => {
  // The gateway and the worker wait on a Redis nobody runs (never ready), the API exits at once on
  // a bad variable. Their readiness would only time out after 10 minutes: the stack must stop them.
  const nobody = `redis://127.0.0.1:${await freePort()}`;
  const started = startStack({
    readyTimeoutMs: 600_000,
    envFor: {
      gateway: { REDIS_URL: nobody },
      worker: { REDIS_URL: nobody },
      api: { RATE_LIMIT_RUNS_PER_MINUTE: "lots" },
    },
  });
  await expect(started).rejects.toThrow(/api exited \(code 1\)[\s\S]*RATE_LIMIT_RUNS_PER_MINUTE/);
  expect(runningServices()).toEqual([]);
});
