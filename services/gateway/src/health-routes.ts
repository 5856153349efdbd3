import { ERRORS } from "@threadline/protocol";
import type { RedisClient } from "@threadline/redis";
import { httpError } from "@threadline/server";
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
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), options.pingTimeoutMs);
    });
    try {
      await Promise.race([options.redis.ping(), timeout]);
    } catch (error) {
      throw httpError(ERRORS.NOT_READY, `Redis did not answer PING: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    return { status: "ok", redis: "ok" };
  });
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", options.registry.contentType);
    return options.registry.metrics();
  });
}
