import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS, runBackoffStrategy } from "./run-backoff.js";

const job = (delay?: number) => ({
  opts: { backoff: { type: "run", ...(delay === undefined ? {} : { delay }) } },
});
const withRetryAfter = (ms: unknown) => Object.assign(new Error("429"), { retryAfterMs: ms });

describe("runBackoffStrategy", () => {
  it("waits the provider's retry-after when the error carries one", () => {
    expect(runBackoffStrategy(1, "run", withRetryAfter(2_000), job(100) as never)).toBe(2_000);
    expect(runBackoffStrategy(3, "run", withRetryAfter(0), job(100) as never)).toBe(0);
  });
  it("caps a huge retry-after", () => {
    expect(runBackoffStrategy(1, "run", withRetryAfter(86_400_000), job(100) as never)).toBe(
      MAX_RETRY_AFTER_MS,
    );
  });
  it("is exponential from the job's delay otherwise (1 s when unset)", () => {
    expect([1, 2, 3].map((n) => runBackoffStrategy(n, "run", new Error("503"), job(100) as never))).toEqual([
      100, 200, 400,
    ]);
    expect(runBackoffStrategy(1, "run", withRetryAfter("soon"), job() as never)).toBe(1_000);
  });
});
