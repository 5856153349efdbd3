import type { ThreadWatchers } from "@threadline/redis";
import type { Logger } from "pino";

export interface WatcherRegistry {
  add(threadId: string, streamId: string): void;
  remove(threadId: string, streamId: string): void;
  /** Stops refreshing and waits for pending writes (the caller closes the connection afterwards). */
  close(): Promise<void>;
}

export interface WatcherRegistryOptions {
  /** WATCHER_TTL_MS: a member not refreshed for this long no longer counts. */
  ttlMs: number;
  log: Logger;
  now?: () => number;
}

/** Each tick refreshes its share of the threads, so every thread is refreshed once per WATCHER_TTL_MS/3. */
const REFRESH_TICK_MS = 100;

/**
 * Keeps this gateway's open streams in each thread's watcher set (packages/redis `threadWatchers`), for
 * the worker's "cancel on disconnect" (runs with `onDisconnect.cancelAfterMs`). A member is added when a
 * stream opens, the scores of all members are refreshed every WATCHER_TTL_MS/3 (spread evenly over that
 * time, a share of the threads every 100 ms), and a member is removed
 * when its stream ends; a crashed gateway's members simply expire.
 */
export function createWatcherRegistry(
  watchers: ThreadWatchers,
  options: WatcherRegistryOptions,
): WatcherRegistry {
  const now = options.now ?? Date.now;
  const byThread = new Map<string, Set<string>>();
  const inflight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    const tracked = promise.catch((error: Error) =>
      options.log.warn({ err: error }, "watcher set update failed"),
    );
    inflight.add(tracked);
    void tracked.finally(() => inflight.delete(tracked));
  };
  const refresh = (threadId: string, members: string[], prune: boolean) =>
    track(watchers.refresh(threadId, members, { now: now(), ttlMs: options.ttlMs, prune }));
  // Round robin, a share of the threads per tick: each is refreshed once per TTL/3 and the work never
  // comes in one burst. Refreshing all 1,000 threads at once (even in yielding slices) held the event
  // loop for 20–30 ms every 10 s: the only long tasks in the gateway's profile during a steady step,
  // where the floors had none (issue 16; pnpm bench --cpu-prof, scripts/bench/profile-stalls.ts).
  const period = Math.max(REFRESH_TICK_MS, Math.floor(options.ttlMs / 3));
  let cursor: Iterator<[string, Set<string>]> | undefined;
  const refreshShare = () => {
    const share = Math.ceil((byThread.size * REFRESH_TICK_MS) / period);
    for (let i = 0; i < share; i++) {
      cursor ??= byThread.entries();
      const next = cursor.next();
      if (next.done) {
        // A pass is over; the next tick starts the next one (threads added meanwhile are in it).
        cursor = undefined;
        return;
      }
      const [threadId, members] = next.value;
      refresh(threadId, [...members], false);
    }
  };
  const timer = setInterval(refreshShare, REFRESH_TICK_MS);
  timer.unref();

  return {
    add(threadId, streamId) {
      const members = byThread.get(threadId) ?? new Set<string>();
      byThread.set(threadId, members);
      members.add(streamId);
      refresh(threadId, [streamId], true);
    },
    remove(threadId, streamId) {
      const members = byThread.get(threadId);
      if (!members?.delete(streamId)) return;
      if (members.size === 0) byThread.delete(threadId);
      track(watchers.remove(threadId, streamId));
    },
    async close() {
      clearInterval(timer);
      await Promise.allSettled([...inflight]);
    },
  };
}
