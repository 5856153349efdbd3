import { keys, LOG_START, type RedisClient } from "@threadline/redis";

/**
 * The id of a thread's newest log entry, or LOG_START when the log is empty. A live-only stream
 * reads it BEFORE subscribing: everything it will receive live is newer, and after a subscriber
 * reconnect it backfills from here (or from the last id it delivered).
 */
export async function readLogTail(redis: RedisClient, threadId: string): Promise<string> {
  const rows = await redis.xrevrange(keys.threadLog(threadId), "+", "-", "COUNT", 1);
  return rows[0]?.[0] ?? LOG_START;
}
