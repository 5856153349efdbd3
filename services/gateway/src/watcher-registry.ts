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
  const refresh = (threadId: string, members: string[]) => {
    const key = keys.threadWatchers(threadId);
    const expiry = now() + options.ttlMs;
    const scored = members.flatMap((m) => [expiry, m]);
    track(
      redis
        .multi()
        .zadd(key, ...scored)
        .zremrangebyscore(key, "-inf", `(${now()}`)
        .pexpire(key, options.ttlMs)
        .exec(),
    );
  };
  const timer = setInterval(
    () => {
      for (const [threadId, members] of byThread) refresh(threadId, [...members]);
    },
    Math.max(100, Math.floor(options.ttlMs / 3)),
  );
  timer.unref();

  return {
    add(threadId, streamId) {
      const members = byThread.get(threadId) ?? new Set<string>();
      byThread.set(threadId, members);
      members.add(streamId);
      refresh(threadId, [streamId]);
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
