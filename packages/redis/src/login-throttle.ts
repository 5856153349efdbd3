import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/**
 * Refused admin logins per client address, shared by every API instance:
 *
 *   key    `threadline:admin-login-failures:<address>`  a counter
 *   TTL    the window; set by the first failure, so the window is fixed (it does not slide)
 *
 * An address with `maxFailures` refusals in the window is blocked until the key expires.
 */
export interface LoginThrottle {
  /** Milliseconds `address` must still wait before it may try again; 0 when it may try now. */
  blockedFor(address: string): Promise<number>;
  /** Counts one refused login; returns how long `address` is now blocked (0 while under the budget). */
  recordFailure(address: string): Promise<number>;
}

export function createLoginThrottle(
  client: RedisClient,
  options: { maxFailures: number; windowMs: number },
): LoginThrottle {
  const blocked = (count: number, ttlMs: number) => (count >= options.maxFailures ? Math.max(1, ttlMs) : 0);
  return {
    async blockedFor(address) {
      const key = keys.adminLoginFailures(address);
      const [count, ttl] = await Promise.all([client.get(key), client.pttl(key)]);
      return blocked(Number(count ?? 0), ttl);
    },
    async recordFailure(address) {
      const key = keys.adminLoginFailures(address);
      // One transaction: the counter never exists without its TTL (SET NX PX, then INCR keeps the TTL).
      const results = await client
        .multi()
        .set(key, "0", "PX", options.windowMs, "NX")
        .incr(key)
        .pttl(key)
        .exec();
      const count = Number(results?.[1]?.[1] ?? 0);
      const ttl = Number(results?.[2]?.[1] ?? options.windowMs);
      return blocked(count, ttl);
    },
  };
}
