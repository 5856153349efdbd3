/** Why a run's agent was aborted. */
export type StopReason =
  | { kind: "cancel"; message: string }
  | { kind: "handback" }
  /** The publish script refused this attempt (a newer one owns the run, or the run ended). */
  | { kind: "superseded"; message: string };

export interface ActiveRun {
  runId: string;
  threadId: string;
  controller: AbortController;
  /** Set before `controller` aborts. */
  stopReason?: StopReason;
}

export interface ActiveRuns {
  /** Registers a run this worker is about to execute; applies a cancel that arrived just before. */
  add(runId: string, threadId: string): ActiveRun;
  remove(run: ActiveRun): void;
  /**
   * Aborts a run this worker holds. A cancel for a run not held here is remembered for a while: the
   * job may have been taken by this worker a moment ago, before `add`.
   */
  cancel(runId: string, message: string): boolean;
  /** Aborts every held run so its job goes back to the queue (shutdown past the grace period). */
  handBackAll(): void;
  size(): number;
  /** Resolves when no run is held. */
  idle(): Promise<void>;
}

export interface ActiveRunsOptions {
  /** How long an unmatched cancel is remembered. */
  rememberCancelMs?: number;
  now?: () => number;
}

const MAX_REMEMBERED = 10_000;

export function createActiveRuns(options: ActiveRunsOptions = {}): ActiveRuns {
  const rememberMs = options.rememberCancelMs ?? 60_000;
  const now = options.now ?? Date.now;
  const runs = new Map<string, ActiveRun>();
  const recentCancels = new Map<string, { message: string; at: number }>();
  let waiters: (() => void)[] = [];

  const stop = (run: ActiveRun, reason: StopReason) => {
    if (run.stopReason) return;
    run.stopReason = reason;
    run.controller.abort();
  };
  const prune = () => {
    const cutoff = now() - rememberMs;
    for (const [runId, entry] of recentCancels) {
      if (entry.at >= cutoff && recentCancels.size <= MAX_REMEMBERED) break;
      recentCancels.delete(runId);
    }
  };

  return {
    add(runId, threadId) {
      const run: ActiveRun = { runId, threadId, controller: new AbortController() };
      runs.set(runId, run);
      prune();
      const early = recentCancels.get(runId);
      if (early) {
        recentCancels.delete(runId);
        stop(run, { kind: "cancel", message: early.message });
      }
      return run;
    },
    remove(run) {
      if (runs.get(run.runId) === run) runs.delete(run.runId);
      if (runs.size === 0) {
        for (const resolve of waiters) resolve();
        waiters = [];
      }
    },
    cancel(runId, message) {
      const run = runs.get(runId);
      if (run) {
        stop(run, { kind: "cancel", message });
        return true;
      }
      recentCancels.delete(runId);
      recentCancels.set(runId, { message, at: now() });
      prune();
      return false;
    },
    handBackAll() {
      for (const run of runs.values()) stop(run, { kind: "handback" });
    },
    size: () => runs.size,
    idle() {
      if (runs.size === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
