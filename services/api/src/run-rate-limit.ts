import { keys, type RedisClient } from "@threadline/redis";
import { HttpError } from "@threadline/server";

export const RATE_LIMITED = "RATE_LIMITED";
const WINDOW_MS = 60_000;

/**
 * At most `perMinute` new runs per JWT subject per minute, counted in Redis so every API instance
 * shares the budget (a fixed one-minute window: simple, and a burst at a boundary is at most 2×).
 * `perMinute` 0 turns it off. Throws 429 with `Retry-After`.
 */
export function createRunRateLimit(redis: RedisClient, perMinute: number, now: () => number) {
  return async function take(sub: string): Promise<void> {
    if (perMinute <= 0) return;
    const at = now();
    const window = Math.floor(at / WINDOW_MS);
    const key = keys.runRateLimit(sub, window);
    const results = await redis
      .multi()
      .incr(key)
      .pexpire(key, WINDOW_MS + 1_000)
      .exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    if (count <= perMinute) return;
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - at) / 1000));
    throw new HttpError(
      429,
      RATE_LIMITED,
      `too many runs: at most ${perMinute} per minute per subject; retry in ${retryAfter} s`,
      { limit: perMinute, retryAfterSeconds: retryAfter },
      { "retry-after": String(retryAfter) },
    );
  };
}
