// Preload for a server under test (`pnpm bench -- --gateway-node-args="--import ./scripts/bench/loop-stalls.mjs"`):
// records the event loop's worst delay in every 100 ms window and every GC pause, and writes them as
// JSON to $LOOP_STALLS_DIR/loop-stalls-<pid>.json (default: the temp directory) on exit, with the
// process's environment's SUBSCRIBER_MODE / FLOOR_MODE to tell the targets apart.
// Stalls then show with their time and whether a GC explains them, instead of being guessed at.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";

const WINDOW_MS = 100;
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
const windows = [];
const gcs = [];
const KINDS = {
  1: "scavenge",
  2: "minor-mark-sweep",
  4: "mark-compact",
  8: "incremental",
  16: "weak-callbacks",
};
const timer = setInterval(() => {
  windows.push([Math.round(performance.now()), Math.round(histogram.max / 1e5) / 10]);
  histogram.reset();
}, WINDOW_MS);
timer.unref();
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push([
      Math.round(e.startTime),
      Math.round(e.duration * 10) / 10,
      KINDS[e.detail?.kind] ?? e.detail?.kind,
    ]);
}).observe({ entryTypes: ["gc"] });
process.on("exit", () => {
  const file = join(process.env.LOOP_STALLS_DIR ?? tmpdir(), `loop-stalls-${process.pid}.json`);
  const mode = process.env.SUBSCRIBER_MODE ?? `floor-${process.env.FLOOR_MODE}`;
  writeFileSync(file, JSON.stringify({ mode, argv: process.argv, windowMs: WINDOW_MS, windows, gcs }));
});
