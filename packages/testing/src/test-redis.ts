import { existsSync } from "node:fs";
import { startRedisServer } from "./redis-server.js";
import { type TestEnv, testEnv } from "./test-env.js";

export interface TestRedis {
  url: string;
  /** How it was obtained, for test output. */
  source: "REDIS_URL" | "testcontainers" | "redis-server";
  stop(): Promise<void>;
}

/**
 * A real Redis for a test: `REDIS_URL` when set; else testcontainers when a Docker engine answers;
 * else a `redis-server` spawned on a free port (`env` defaults to what vitest.config.ts provides;
 * scripts pass their own). Never skips: without any of them it throws, with
 * what to install.
 */
export async function getTestRedis(env: TestEnv = testEnv()): Promise<TestRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: "REDIS_URL", stop: async () => {} };
  if (env.DOCKER_HOST || existsSync("/var/run/docker.sock")) {
    const container = await startContainer().catch(() => undefined);
    if (container) return container;
  }
  try {
    const server = await startRedisServer(env.REDIS_SERVER_BIN ? { bin: env.REDIS_SERVER_BIN } : {});
    return { url: server.url, source: "redis-server", stop: () => server.dispose() };
  } catch (error) {
    throw new Error(
      `tests need a real Redis and found none: set REDIS_URL, start a Docker engine, or install redis-server ` +
        `(apt-get install -y redis-server / brew install redis). Cause: ${(error as Error).message}`,
    );
  }
}

async function startContainer(): Promise<TestRedis> {
  const { RedisContainer } = await import("@testcontainers/redis");
  const container = await new RedisContainer("redis:7.0").start();
  return {
    url: container.getConnectionUrl(),
    source: "testcontainers",
    stop: async () => {
      await container.stop();
    },
  };
}
