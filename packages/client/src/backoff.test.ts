import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  it("doubles the ceiling per attempt and caps it", () => {
    const top = { initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, top))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it("uses full jitter: anywhere between 0 and the ceiling", () => {
    expect(backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 1000, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 })).toBe(400);
    const samples = Array.from({ length: 200 }, () =>
      backoffDelay(2, { initialDelayMs: 100, maxDelayMs: 10_000 }),
    );
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(400);
    expect(new Set(samples).size).toBeGreaterThan(20);
  });
});
