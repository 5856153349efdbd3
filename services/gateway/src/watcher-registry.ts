import { keys, type RedisClient } from "@threadline/redis";
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

/**
 * Who is watching a thread, for the worker's "cancel on disconnect" (runs with
 * `onDisconnect.cancelAfterMs`):
 *
 *   key     keys.threadWatchers(threadId) = `{thread:<id>}:watchers`   (sorted set, same slot as the thread)
 *   member  a stream id unique to one SSE response: `<gateway instance id>:<n>`
 *   score   the member's expiry, ms since epoch (now + WATCHER_TTL_MS)
 *
 * A gateway adds a member when a stream opens, refreshes the scores of all its members every
 * WATCHER_TTL_MS/3, and removes a member when its stream ends; a crashed gateway's members simply
 * expire. The key itself gets PEXPIRE WATCHER_TTL_MS on each write so an abandoned set disappears.
 * Readers count live watchers with `ZCOUNT key <now> +inf` (and may prune with
 * `ZREMRANGEBYSCORE key -inf (<now>`): zero means nobody has watched for up to WATCHER_TTL_MS.
 */
const REFRESH_SLICE = 100;

export function createWatcherRegistry(redis: RedisClient, options: WatcherRegistryOptions): WatcherRegistry {
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
  // Plain commands, not MULTI: the three writes need no atomicity, and a MULTI per thread cost ~0.4 ms
  // of event loop each — 1,000 threads stalled every stream for ~400 ms at each refresh.
  const refresh = (threadId: string, members: string[], prune: boolean) => {
    const key = keys.threadWatchers(threadId);
    const at = now();
    const scored = members.flatMap((m) => [at + options.ttlMs, m]);
    track(redis.zadd(key, ...scored));
    if (prune) track(redis.zremrangebyscore(key, "-inf", `(${at}`));
    track(redis.pexpire(key, options.ttlMs));
  };
  // Refresh in slices, yielding between them, so live deliveries interleave with the bookkeeping.
  let refreshing = false;
  const refreshAll = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const entries = [...byThread];
      for (let i = 0; i < entries.length; i += REFRESH_SLICE) {
        for (const [threadId, members] of entries.slice(i, i + REFRESH_SLICE)) {
          if (byThread.has(threadId)) refresh(threadId, [...members], false);
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      refreshing = false;
    }
  };
  const timer = setInterval(() => void refreshAll(), Math.max(100, Math.floor(options.ttlMs / 3)));
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
      track(redis.zrem(keys.threadWatchers(threadId), streamId));
    },
    async close() {
      clearInterval(timer);
      await Promise.allSettled([...inflight]);
    },
  };
}
