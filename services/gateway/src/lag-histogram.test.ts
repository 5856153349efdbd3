import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createLagHistogram } from "./lag-histogram.js";

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.1, 1];

describe("createLagHistogram", () => {
  it("renders exactly what prom-client's Histogram renders for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const lag = createLagHistogram({ name: "lag_seconds", help: "h", buckets, registers: [ours] });
    const reference = new Histogram({ name: "lag_seconds", help: "h", buckets, registers: [theirs] });
    // On a bound, between bounds, above every bound, zero.
    for (const seconds of [0, 0.001, 0.0011, 0.0025, 0.004, 0.01, 0.5, 1, 3, 42, 0.0001]) {
      lag.observe(seconds);
      reference.observe(seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it("starts empty and resets with the registry", async () => {
    const registry = new Registry();
    const lag = createLagHistogram({ name: "lag_seconds", help: "h", buckets, registers: [registry] });
    expect(await registry.metrics()).toContain('lag_seconds_bucket{le="+Inf"} 0');
    lag.observe(0.002);
    expect(await registry.metrics()).toContain("lag_seconds_count 1");
    registry.resetMetrics();
    expect(await registry.metrics()).toContain("lag_seconds_count 0");
  });
});
