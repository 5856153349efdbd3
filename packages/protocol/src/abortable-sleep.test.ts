import { describe, expect, it } from "vitest";
import { abortableSleep } from "./abortable-sleep.js";

describe("abortableSleep", () => {
  it("waits the time given", async () => {
    const started = performance.now();
    await abortableSleep(40);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("resolves as soon as the signal aborts, and at once when it already has", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = abortableSleep(10_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await sleeping;
    expect(performance.now() - started).toBeLessThan(5_000);
    const again = performance.now();
    await abortableSleep(10_000, controller.signal);
    expect(performance.now() - again).toBeLessThan(50);
  });
});
