import type { ExternalRuns } from "@threadline/redis";
import type { Logger } from "pino";
import type { ExternalLifecycle } from "./external-lifecycle.js";

/** How many indexed runs one pass looks at (the oldest first). */
const PASS_LIMIT = 1000;

export interface ExternalRunMonitor {
  /** One pass over the indexed runs (tests call it directly). */
  checkNow(): Promise<void>;
  stop(): void;
}

/**
 * Every API instance runs one: each `checkMs` it walks the external runs that have not ended and
 * fails the silent ones. Several instances may look at the same run at once; the lifecycle's keyed
 * events make its failure appear once.
 */
export function startExternalRunMonitor(
  externalRuns: ExternalRuns,
  lifecycle: ExternalLifecycle,
  checkMs: number,
  log: Logger | undefined,
): ExternalRunMonitor {
  let running: Promise<void> | undefined;
  const checkNow = async () => {
    for (const ref of await externalRuns.list(PASS_LIMIT)) {
      const result = await lifecycle.check(ref).catch((error: unknown) => {
        log?.warn({ err: error, ...ref }, "external run check failed");
        return "error";
      });
      if (result === "lost")
        log?.warn({ threadId: ref.threadId, runId: ref.runId }, "external run lost its producer");
    }
  };
  const timer = setInterval(() => {
    // One pass at a time: a tick that finds the last one still going skips.
    if (running) return;
    running = checkNow()
      .catch((error: unknown) => log?.warn({ err: error }, "external run check failed"))
      .finally(() => {
        running = undefined;
      });
  }, checkMs);
  timer.unref();
  return { checkNow, stop: () => clearInterval(timer) };
}
