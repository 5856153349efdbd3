import rateLimit from "@fastify/rate-limit";
import { ERRORS } from "@threadline/protocol";
import { keys, type RedisClient } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "./authenticate.js";

/**
 * At most `perMinute` new runs per JWT subject per minute, with @fastify/rate-limit counting in
 * Redis so every API instance shares the budget (each counter is one key, so a Cluster works too).
 * Only routes that opt in with `config: { rateLimit: {} }` are limited (streams, reads and health
 * checks never are); the check runs in `preHandler`, after `authenticate`, so it is keyed by the
 * verified `sub` and an unauthenticated request is 401, never 429. `perMinute` 0 turns it off.
 * Past the budget: 429 `RATE_LIMITED` with `Retry-After` and the `x-ratelimit-*` headers.
 */
export async function installRunRateLimit(
  app: FastifyInstance,
  redis: RedisClient,
  perMinute: number,
): Promise<void> {
  if (perMinute <= 0) return;
  await app.register(rateLimit, {
    global: false,
    max: perMinute,
    timeWindow: 60_000,
    hook: "preHandler",
    redis,
    nameSpace: keys.rateLimitPrefix(),
    keyGenerator: (request) => claimsOf(request).sub,
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return httpError(
        ERRORS.RATE_LIMITED,
        `too many runs: at most ${context.max} per minute per subject; retry in ${retryAfter} s`,
        { limit: context.max, retryAfterSeconds: retryAfter },
      );
    },
  });
}
