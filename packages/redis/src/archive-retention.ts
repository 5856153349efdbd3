import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

/**
 * Tells the publish script how far the archive holds a thread's log (`cursor`: the last committed
 * entry id, "0" for none), so it trims only what the archive has (lua/archiveProgress-2.lua). Call it
 * after the archive's transaction committed, never before: a trim must not outrun a commit.
 * Returns the entries not archived yet, or -1 for a thread without meta (left to plain trimming).
 */
export function recordArchiveProgress(
  client: RedisClient,
  threadId: string,
  cursor: string,
): Promise<number> {
  defineScripts(client);
  return client.threadlineArchiveProgress(keys.threadLog(threadId), keys.threadMeta(threadId), cursor);
}
