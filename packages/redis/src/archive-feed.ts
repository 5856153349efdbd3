import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import type { EventPublisher } from "./publisher.js";
import { defineScripts } from "./scripts.js";

export interface DirtyThread {
  threadId: string;
  /** The mark's version, handed back to `settle`. */
  score: number;
}

/**
 * The archiver's work list: which threads have log entries not yet in the archive. Publishers `touch`
 * a thread (throttled per thread, with a trailing mark so the last event of a burst is never left
 * unmarked); the archiver reads `pending` threads, copies them, and `settle`s each unless it was
 * touched again meanwhile.
 */
export interface ArchiveFeed {
  touch(threadId: string): void;
  pending(limit: number): Promise<DirtyThread[]>;
  settle(thread: DirtyThread): Promise<boolean>;
  /** Sends the trailing marks still waiting (call before closing the connection). */
  flush(): Promise<void>;
  /** Takes the fleet-wide sweep lease for `ms`: true for one caller per window (see the archive sweep). */
  claimSweep(ms: number): Promise<boolean>;
}

export interface ArchiveFeedOptions {
  /** At most one mark per thread per this many ms (ARCHIVE_MARK_MS). */
  markIntervalMs: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export function createArchiveFeed(client: RedisClient, options: ArchiveFeedOptions): ArchiveFeed {
  defineScripts(client);
  const now = options.now ?? Date.now;
  const dirty = keys.archiveDirty();
  /** Threads marked within the current window; `again` = published to since that mark. */
  const windows = new Map<string, { again: boolean; timer: NodeJS.Timeout }>();
  const inFlight = new Set<Promise<unknown>>();

  const mark = (threadId: string) => {
    const sent = client
      .threadlineArchiveTouch(dirty, threadId, String(now()))
      .catch((error: unknown) => options.onError?.(error));
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };
  const open = (threadId: string) => {
    mark(threadId);
    const timer = setTimeout(() => {
      const window = windows.get(threadId);
      windows.delete(threadId);
      if (window?.again) open(threadId);
    }, options.markIntervalMs);
    timer.unref();
    windows.set(threadId, { again: false, timer });
  };

  return {
    touch(threadId) {
      const window = windows.get(threadId);
      if (window) window.again = true;
      else open(threadId);
    },
    async pending(limit) {
      const flat = await client.zrange(dirty, "0", String(limit - 1), "WITHSCORES");
      const out: DirtyThread[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        out.push({ threadId: flat[i] as string, score: Number(flat[i + 1]) });
      }
      return out;
    },
    async settle({ threadId, score }) {
      return (await client.threadlineArchiveSettle(dirty, threadId, String(score))) === 1;
    },
    async claimSweep(ms) {
      return (await client.set(keys.archiveSweepLease(), String(now()), "PX", ms, "NX")) === "OK";
    },
    async flush() {
      for (const [threadId, window] of windows) {
        clearTimeout(window.timer);
        windows.delete(threadId);
        if (window.again) mark(threadId);
      }
      await Promise.all(inFlight);
    },
  };
}

/** A publisher that also marks each thread it publishes to in the archive feed. */
export function withArchiveFeed(publisher: EventPublisher, feed: ArchiveFeed): EventPublisher {
  return {
    async publish(target, event, options) {
      // The options carry the worker's fencing token and idempotency key: never drop them.
      const published = await publisher.publish(target, event, options);
      feed.touch(target.threadId);
      return published;
    },
    async publishBatch(target, items, options) {
      const outcome = await publisher.publishBatch(target, items, options);
      if (outcome.published.length > 0) feed.touch(target.threadId);
      return outcome;
    },
  };
}
