import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { signDevToken } from "@threadline/auth";
import { type ApiConfig, DEV_JWT_SECRET, loadApiConfig } from "@threadline/config";
import {
  closeRedisClient,
  createRedisClient,
  createRunsQueue,
  type RedisClient,
  type RunsQueue,
} from "@threadline/redis";
import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import type { FastifyInstance } from "fastify";
import { buildApi } from "../app.js";

export interface ApiHarness {
  app: FastifyInstance;
  config: ApiConfig;
  redis: RedisClient;
  queue: RunsQueue;
  redisUrl: string;
  /** `Authorization` header value for a subject. */
  bearer(sub: string, extra?: { threads?: string[]; role?: "admin"; ttlSeconds?: number }): string;
  close(): Promise<void>;
}

/** A real API on a real Redis with its own queue prefix, driven with `app.inject()`. */
export async function startApiHarness(env: Record<string, string> = {}): Promise<ApiHarness> {
  const testRedis: TestRedis = await getTestRedis();
  const config = loadApiConfig({
    REDIS_URL: testRedis.url,
    QUEUE_PREFIX: `{${uniqueId("q")}}`,
    LOG_LEVEL: "silent",
    ...env,
  });
  const redis = createRedisClient(config.redis, { name: "api-test" });
  const queue = createRunsQueue(config.redis, { name: "api-test-queue" });
  const app = await buildApi(config, {
    redis,
    createBlockingConnection: (name) => createRedisClient(config.redis, { name }),
    queue,
    agents: createAgentRegistry(defaultAgents()),
  });
  await app.ready();
  return {
    app,
    config,
    redis,
    queue,
    redisUrl: testRedis.url,
    bearer: (sub, extra = {}) => `Bearer ${signDevToken(DEV_JWT_SECRET, { sub, ...extra })}`,
    async close() {
      await app.close();
      await queue.close();
      await closeRedisClient(redis);
      await testRedis.stop();
    },
  };
}
