import { describe, expect, it } from "vitest";
import { createActiveRuns } from "./active-runs.js";

describe("active runs", () => {
  it("aborts a held run on cancel with the reason, once", () => {
    const runs = createActiveRuns();
    const run = runs.add("r1", "t1");
    expect(runs.cancel("r1", "by alice")).toBe(true);
    expect(run.controller.signal.aborted).toBe(true);
    expect(run.stopReason).toEqual({ kind: "cancel", message: "by alice" });
    runs.handBackAll();
    expect(run.stopReason).toEqual({ kind: "cancel", message: "by alice" });
  });

  it("remembers a cancel that arrives just before the run is registered, for a while", () => {
    let now = 1_000;
    const runs = createActiveRuns({ rememberCancelMs: 100, now: () => now });
    expect(runs.cancel("early", "too quick")).toBe(false);
    expect(runs.cancel("stale", "old")).toBe(false);
    now += 50;
    expect(runs.add("early", "t").stopReason).toEqual({ kind: "cancel", message: "too quick" });
    now += 100;
    expect(runs.add("stale", "t").controller.signal.aborted).toBe(false);
  });

  it("hands back every run and reports when it is idle", async () => {
    const runs = createActiveRuns();
    const a = runs.add("a", "t");
    const b = runs.add("b", "t");
    expect(runs.size()).toBe(2);
    let idle = false;
    const waiting = runs.idle().then(() => {
      idle = true;
    });
    runs.handBackAll();
    expect([a.stopReason, b.stopReason]).toEqual([{ kind: "handback" }, { kind: "handback" }]);
    runs.remove(a);
    await Promise.resolve();
    expect(idle).toBe(false);
    runs.remove(b);
    await waiting;
    expect(runs.size()).toBe(0);
    await runs.idle();
  });
});
