import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { startRedisServer } from "./redis-server.js";
import { getTestRedis } from "./test-redis.js";

describe("getTestRedis", () => {
  it("spawns a real redis-server on a free port and removes it afterwards", async () => {
    const redis = await getTestRedis({});
    expect(redis.source).toBe("redis-server");
    const client = new Redis(redis.url);
    expect(await client.ping()).toBe("PONG");
    client.disconnect();
    await redis.stop();
    const probe = new Redis(redis.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on("error", () => {});
    await expect(probe.connect()).rejects.toThrow();
  });

  it("uses REDIS_URL when set", async () => {
    const redis = await getTestRedis({ REDIS_URL: "redis://127.0.0.1:1" });
    expect(redis).toMatchObject({ url: "redis://127.0.0.1:1", source: "REDIS_URL" });
  });

  it("fails loudly, saying what to install, when no Redis can be had", async () => {
    await expect(getTestRedis({ REDIS_SERVER_BIN: "/nonexistent/redis-server" })).rejects.toThrow(
      /tests need a real Redis.*install redis-server/s,
    );
  });

  it("restarts with its data when AOF is on", async () => {
    const server = await startRedisServer({ appendOnly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    await client.set("k", "v");
    await server.stop(true);
    await server.start();
    expect(await client.get("k")).toBe("v");
    client.disconnect();
    await server.dispose();
  });
});
