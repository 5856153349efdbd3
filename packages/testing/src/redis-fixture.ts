import { afterAll, afterEach, beforeAll } from "vitest";
import { getTestRedis, type TestRedis } from "./test-redis.js";

export interface RedisFixture<Client> {
  /** The file's real Redis (set in `beforeAll`): `redis.url` for more connections, services, workers. */
  redis: TestRedis;
  /** A command connection for setup and assertions (set in `beforeAll`). */
  client: Client;
  /** Run after each test, last first: what the test started (workers, queues, subscriptions). */
  cleanups: (() => Promise<unknown>)[];
}

/**
 * Registers the hooks a test file on Redis needs: one real Redis for the file (`getTestRedis`), a
 * command connection opened by `connect`, and per-test cleanups. `connect` is the caller's own
 * factory (packages/redis's `createRedisClient`), so assertions speak to Redis as the code under test
 * does; this package does not depend on packages/redis, which tests with it.
 */
export function useTestRedis<Client extends { disconnect(): void }>(
  connect: (url: string) => Client,
): RedisFixture<Client> {
  const fixture = { cleanups: [] } as unknown as RedisFixture<Client>;
  beforeAll(async () => {
    fixture.redis = await getTestRedis();
    fixture.client = connect(fixture.redis.url);
  });
  afterEach(async () => {
    for (const cleanup of fixture.cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    fixture.client?.disconnect();
    await fixture.redis?.stop();
  });
  return fixture;
}
