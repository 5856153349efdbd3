import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

/**
 * How long a deleted thread's unfinished runs stay fenced: longer than a BullMQ job lock plus the
 * stalled-job check, so a worker that still holds one (or picks it up after a stall) is refused.
 */
export const DELETED_RUN_FENCE_SECONDS = 600;

export interface DeletedThread {
  /** Keys removed. */
  deleted: number;
  /**
   * Runs that were queued or running: each one's publish state now holds only `done = "deleted"`
   * (expiring after DELETED_RUN_FENCE_SECONDS), so their producers are refused and write nothing more.
   */
  fencedRunIds: string[];
}

/**
 * Deletes everything Redis holds for a thread in one script (lua/deleteThread.lua): log, meta, watchers,
 * run index, and each run's record and publish state (the runs are read from the index, plus
 * `extraRunIds`, e.g. the archive's). All keys share the thread's hash tag: one shard. Runs that had not
 * ended are fenced rather than forgotten, so a job still running cannot re-create the thread.
 */
export async function deleteThreadKeys(
  client: RedisClient,
  threadId: string,
  extraRunIds: string[] = [],
): Promise<DeletedThread> {
  defineScripts(client);
  const indexed = await client.zrange(keys.threadRuns(threadId), "0", "-1");
  const runIds = [...new Set([...indexed, ...extraRunIds])];
  const threadKeys = [
    keys.threadLog(threadId),
    keys.threadMeta(threadId),
    keys.threadWatchers(threadId),
    keys.threadRuns(threadId),
    ...runIds.flatMap((runId) => [keys.run(threadId, runId), keys.runPublishState(threadId, runId)]),
  ];
  const [deleted = 0, ...fenced] = await client.threadlineDeleteThread(
    threadKeys.length,
    ...threadKeys,
    DELETED_RUN_FENCE_SECONDS,
  );
  return { deleted, fencedRunIds: fenced.map((i) => runIds[i] as string) };
}
