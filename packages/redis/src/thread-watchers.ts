import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/**
 * Who is watching a thread, for the worker's "cancel on disconnect" (runs with `onDisconnect`):
 *
 *   key     `{thread:<id>}:watchers`  sorted set, same slot as the thread
 *   member  a stream id unique to one SSE response (the gateway's `<instance id>:<n>`)
 *   score   the member's expiry, ms since epoch
 *
 * Gateways write it (add/refresh, remove, prune expired members; the key itself expires `ttlMs` after
 * its last refresh, so an abandoned set disappears); workers count the live members.
 */
export interface ThreadWatchers {
  /** Adds or refreshes members until `now + ttlMs`; with `prune`, drops members that expired. */
  refresh(
    threadId: string,
    members: string[],
    options: { now: number; ttlMs: number; prune?: boolean },
  ): Promise<void>;
  remove(threadId: string, member: string): Promise<void>;
  /** Members whose expiry is after `now`: zero means nobody has watched for up to the TTL. */
  countLive(threadId: string, now: number): Promise<number>;
}

export function createThreadWatchers(client: RedisClient): ThreadWatchers {
  return {
    async refresh(threadId, members, { now, ttlMs, prune = false }) {
      const key = keys.threadWatchers(threadId);
      // Plain commands, not MULTI: the writes need no atomicity, and a MULTI per thread cost ~0.4 ms
      // of event loop each — 1,000 threads stalled every stream for ~400 ms at each refresh.
      const writes: Promise<unknown>[] = [client.zadd(key, ...members.flatMap((m) => [now + ttlMs, m]))];
      if (prune) writes.push(client.zremrangebyscore(key, "-inf", `(${now}`));
      writes.push(client.pexpire(key, ttlMs));
      await Promise.all(writes);
    },
    async remove(threadId, member) {
      await client.zrem(keys.threadWatchers(threadId), member);
    },
    countLive: (threadId, now) => client.zcount(keys.threadWatchers(threadId), `(${now}`, "+inf"),
  };
}
