// An entry point of its own (so it reads its environment): preloaded into a server under test
// (`node --import …/gc-meter.mjs`) by mode-cost.ts, it counts GC pauses by kind and writes the totals
// to $GC_METER_FILE every 100 ms, so the bench reads the GC time of one measured window without
// parsing --trace-gc output.
import { writeFileSync } from "node:fs";
import { constants, PerformanceObserver } from "node:perf_hooks";

const file = process.env.GC_METER_FILE;
if (file) {
  const totals = { count: 0, ms: 0, minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      totals.count += 1;
      totals.ms += entry.duration;
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.minorCount += 1;
        totals.minorMs += entry.duration;
      } else {
        totals.majorCount += 1;
        totals.majorMs += entry.duration;
      }
    }
  }).observe({ entryTypes: ["gc"] });
  setInterval(() => writeFileSync(file, JSON.stringify(totals)), 100).unref();
}
