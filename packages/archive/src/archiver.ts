import type { ArchiveFeed, DirtyThread } from "@threadline/redis";
import type { Logger } from "pino";
import type { ArchiveSweep } from "./archive-sweep.js";
import type { ArchiveWriter } from "./archive-writer.js";

export interface ArchiverDeps {
  feed: ArchiveFeed;
  writer: ArchiveWriter;
  log: Logger;
  /** Idle wait between passes over the dirty list (ARCHIVE_POLL_MS). */
  pollMs: number;
  /** Threads copied in parallel. */
  parallel?: number;
  /** Finds threads whose producers marked nothing (checked before each pass; sweeps per its interval). */
  sweep?: ArchiveSweep;
  /** Called after each thread copy (metrics, tests). */
  onCopied?: (threadId: string, copied: number) => void;
}

export interface Archiver {
  start(): void;
  /** Stops after the pass in flight; what is left stays marked for the next archiver. */
  close(): Promise<void>;
}

const PASS_SIZE = 64;

/**
 * The loop that keeps the archive behind Redis by at most one pass: read the dirty list, copy each
 * thread from its cursor, settle its mark. A pass that found work runs again at once; an idle one
 * waits `pollMs`. Every archiver process (one per worker) runs it; the per-thread advisory lock in
 * the writer keeps two of them from copying the same thread at once.
 */
export function createArchiver(deps: ArchiverDeps): Archiver {
  const parallel = deps.parallel ?? 4;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const copyOne = async (thread: DirtyThread): Promise<boolean> => {
    const result = await deps.writer.copyThread(thread.threadId);
    if (result.busy) return false;
    if (result.gap) {
      deps.log.warn(
        { threadId: thread.threadId },
        "the replay log lost entries before they were archived (trimmed or flushed); the archive has a gap",
      );
    }
    for (const { runId, missing } of result.incompleteRuns) {
      deps.log.warn(
        { threadId: thread.threadId, runId, missing },
        "a finished run's events were lost before they were archived; its record stays without archivedAt",
      );
    }
    deps.onCopied?.(thread.threadId, result.copied);
    await deps.feed.settle(thread);
    return result.copied > 0;
  };

  const pass = async (): Promise<boolean> => {
    // A failed sweep is retried next interval; it never holds up copying what is marked.
    await deps.sweep?.maybeSweep().catch((error: unknown) => {
      deps.log.warn({ err: error }, "archive sweep failed");
    });
    const threads = await deps.feed.pending(PASS_SIZE);
    let worked = false;
    // `parallel` copiers take the next thread as soon as they finish one: no copier waits for the
    // slowest of a group (a thread with a long backlog used to hold up the three beside it).
    let next = 0;
    const copier = async () => {
      while (next < threads.length && !stopped) {
        const thread = threads[next++] as DirtyThread;
        if (await copyOne(thread)) worked = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, threads.length) }, copier));
    return worked || threads.length === PASS_SIZE;
  };

  const loop = () => {
    if (stopped) return;
    running = pass()
      .then(
        (worked) => schedule(worked ? 0 : deps.pollMs),
        (error: unknown) => {
          deps.log.error({ err: error }, "archive pass failed; retrying");
          schedule(deps.pollMs);
        },
      )
      .finally(() => {
        running = undefined;
      });
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(loop, ms);
  };

  return {
    start: loop,
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
