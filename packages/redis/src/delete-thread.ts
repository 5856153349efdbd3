import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/**
 * Deletes everything Redis holds for a thread: log, meta, watchers, run index, and each run's record
 * and publish state (the runs are read from the index, plus `extraRunIds`, e.g. the archive's). All
 * keys share the thread's hash tag, so this is one DEL on one shard. Returns the keys removed.
 */
export async function deleteThreadKeys(
  client: RedisClient,
  threadId: string,
  extraRunIds: string[] = [],
): Promise<number> {
  const indexed = await client.zrange(keys.threadRuns(threadId), "0", "-1");
  const runIds = [...new Set([...indexed, ...extraRunIds])];
  return client.del(
    keys.threadLog(threadId),
    keys.threadMeta(threadId),
    keys.threadWatchers(threadId),
    keys.threadRuns(threadId),
    ...runIds.flatMap((runId) => [keys.run(threadId, runId), keys.runPublishState(threadId, runId)]),
  );
}
