import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

export interface ThreadMeta {
  /**
   * Claims an unowned thread for `subject` and returns the owner (`subject`, or whoever claimed it
   * first). The claim and the meta key's expiry are one script: the key never lives without a TTL.
   */
  claimOwner(
    threadId: string,
    subject: string,
    claim: { createdAt: string; ttlSeconds: number },
  ): Promise<string>;
  /** The thread's owner, or null when nobody has claimed it (or it expired). */
  owner(threadId: string): Promise<string | null>;
}

/**
 * The thread meta hash `{thread:<id>}:meta`: `owner` and `createdAt` (claimed here), `lastRunId`
 * (written by the run lifecycle), and with the archive on `n`/`archivedN`: entries appended and
 * archived, so the publish script never trims what the archive lacks (lua/archiveProgress-2.lua).
 * `archiveFollows` (the archive is on) starts those counters at the claim.
 */
export function createThreadMeta(
  client: RedisClient,
  options: { archiveFollows?: boolean } = {},
): ThreadMeta {
  defineScripts(client);
  const archiveFollows = options.archiveFollows ? "1" : "0";
  return {
    claimOwner: (threadId, subject, { createdAt, ttlSeconds }) =>
      client.threadlineClaimThread(keys.threadMeta(threadId), subject, createdAt, ttlSeconds, archiveFollows),
    owner: (threadId) => client.hget(keys.threadMeta(threadId), "owner"),
  };
}
