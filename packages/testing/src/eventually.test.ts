import { describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";

describe("eventually", () => {
  it("returns the first value that satisfies the check", async () => {
    let n = 0;
    expect(
      await eventually(
        async () => ++n,
        (v) => v >= 3,
        "three reads",
        { intervalMs: 1 },
      ),
    ).toBe(3);
  });

  it("rejects after the timeout, naming what it waited for and the last value", async () => {
    await expect(
      eventually(
        async () => ({ status: "running" }),
        () => false,
        "the run to finish",
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow('timed out after 30 ms waiting for the run to finish; last: {"status":"running"}');
  });
});
