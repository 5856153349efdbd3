/**
 * Drives a target aggregate publish rate over a set of threads, round-robin, each event carrying
 * `<step>|<n>|<µs>` so the clients can check order and loss and measure latency.
 */
import { setImmediate as yieldLoop } from "node:timers/promises";
import { nowUs } from "./sse-parse.js";

/** Publishes one event with string content on a thread; resolves when the server accepted it. */
export type PublishFn = (thread: string, content: string) => Promise<unknown>;

export interface DriveOptions {
  rate: number;
  durationMs: number;
  threads: string[];
  step: number;
  publish: PublishFn;
  /** Cap of publishes in flight; past it the driver falls behind and reports the rate it reached. */
  maxInFlight: number;
  /** One publish in flight per thread (HTTP publishers, whose parallel requests may reorder). */
  serialPerThread: boolean;
}

export interface DriveResult {
  sent: number;
  errors: number;
  firstError?: string;
  achievedRate: number;
  expectedByThread: number[];
}

export async function drive(options: DriveOptions): Promise<DriveResult> {
  const { rate, durationMs, threads, step, publish } = options;
  const counts = new Array<number>(threads.length).fill(0);
  const chains: Promise<unknown>[] = threads.map(() => Promise.resolve());
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let firstError: string | undefined;
  let drained: (() => void) | undefined;

  const fire = (i: number) => {
    counts[i] = (counts[i] ?? 0) + 1;
    const n = counts[i];
    const thread = threads[i] as string;
    const run = () => publish(thread, `${step}|${n}|${nowUs()}`);
    const previous = chains[i] as Promise<unknown>;
    const done = (options.serialPerThread ? previous.then(run) : run()).then(
      () => undefined,
      (error: Error) => {
        errors++;
        firstError ??= error.message;
      },
    );
    if (options.serialPerThread) chains[i] = done;
    inFlight++;
    done.finally(() => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  };

  const start = performance.now();
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) break;
    const due = Math.floor((rate * elapsed) / 1000);
    while (sent < due && inFlight < options.maxInFlight) fire(sent++ % threads.length);
    await yieldLoop();
  }
  // The last loop turn may end just short of the schedule: send what was due by the end of the step.
  const scheduled = Math.floor((rate * durationMs) / 1000);
  while (sent < scheduled && inFlight < options.maxInFlight) fire(sent++ % threads.length);
  const elapsed = Math.max(performance.now() - start, durationMs);
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  return {
    sent,
    errors,
    firstError,
    achievedRate: Math.round(sent / (elapsed / 1000)),
    expectedByThread: counts,
  };
}
