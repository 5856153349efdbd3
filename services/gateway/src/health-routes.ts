import { ERRORS } from "@threadline/protocol";
import type { RedisClient } from "@threadline/redis";
import { healthPlugin, httpError, pingWithin } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface HealthRoutesOptions {
  redis: RedisClient;
  registry: Registry;
  /** How long /readyz waits for PONG. */
  pingTimeoutMs: number;
}

/** `/healthz` (the process answers), `/readyz` (Redis answers PING), `/metrics` (Prometheus text). */
export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  await app.register(healthPlugin, {
    registry: options.registry,
    checkReady: async () => {
      try {
        await pingWithin(options.redis, options.pingTimeoutMs);
      } catch (error) {
        throw httpError(ERRORS.NOT_READY, `Redis did not answer PING: ${(error as Error).message}`);
      }
    },
  });
}
