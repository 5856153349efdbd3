import { ERRORS } from "@threadline/protocol";
import type { RedisClient } from "@threadline/redis";
import { httpError } from "@threadline/server";

const RETRY_AFTER_SECONDS = 5;

/**
 * An `onRequest` hook for routes that must write to Redis: while the connection is down, answer 503
 * `UNAVAILABLE` with `Retry-After` at once. Without it the request waited in ioredis's offline queue
 * (and behind the Redis-backed rate limit) for 20–30 s, then failed as a 500.
 */
export function requireRedis(redis: RedisClient) {
  // At start-up the first connection is still being made: requests wait for it as before. Only a
  // connection that was lost (or never came up) is a reason to refuse.
  let wasReady = redis.status === "ready";
  redis.on("ready", () => {
    wasReady = true;
  });
  return async (): Promise<void> => {
    if (redis.status === "ready") return;
    const starting = !wasReady && ["wait", "connecting", "connect"].includes(redis.status);
    if (starting) return;
    throw httpError(
      ERRORS.UNAVAILABLE,
      `Redis is unreachable (connection ${redis.status}); nothing was created — retry in ${RETRY_AFTER_SECONDS} s`,
      undefined,
      { "retry-after": String(RETRY_AFTER_SECONDS) },
    );
  };
}
