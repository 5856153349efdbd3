import { expect, it } from "vitest";
import { parseExposition } from "../support/prometheus-text.js";
import { defineRunsSuite } from "./runs-suite.js";

// Standalone Redis; tests/scale/runs-cluster.test.ts runs the same suite on a Redis Cluster.
defineRunsSuite({}, (getStack) => {
  // .ci/run runs this suite again on Node 24: the services must run on it too, not on a `node` from PATH.
  it("every service runs on the Node that runs the tests (process.execPath)", async () => {
    const stack = getStack();
    // The crash test above SIGKILLed one worker; every live service answers.
    const live = [stack.api, stack.gateway, ...stack.workers].filter((s) => s.process.alive());
    expect(live.map((s) => s.kind)).toEqual(expect.arrayContaining(["api", "gateway", "worker"]));
    for (const service of live) {
      const metrics = parseExposition(await (await fetch(`${service.url}/metrics`)).text());
      const info = metrics.samples.find((s) => s.name === `threadline_${service.kind}_nodejs_version_info`);
      expect(info?.labels.version, service.name).toBe(process.version);
    }
  });
});
