import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createThreadWatchers } from "./thread-watchers.js";

let redis: TestRedis;
let client: RedisClient;
beforeAll(async () => {
  redis = await getTestRedis();
  client = createRedisClient({ url: redis.url }, { name: "test" });
});
afterAll(async () => {
  await closeRedisClient(client);
  await redis.stop();
});

describe("threadWatchers (real Redis)", () => {
  it("counts members until their expiry, forgets removed ones, and expires the whole set", async () => {
    const watchers = createThreadWatchers(client);
    const threadId = uniqueId();
    const now = Date.now();
    expect(await watchers.countLive(threadId, now)).toBe(0);
    await watchers.refresh(threadId, ["gw-a:1", "gw-a:2"], { now, ttlMs: 10_000 });
    expect(await watchers.countLive(threadId, now)).toBe(2);
    // Past their expiry they no longer count, even before anyone prunes them.
    expect(await watchers.countLive(threadId, now + 10_000)).toBe(0);
    await watchers.remove(threadId, "gw-a:1");
    expect(await watchers.countLive(threadId, now)).toBe(1);
    const pttl = await client.pttl(keys.threadWatchers(threadId));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it("prunes expired members when asked, keeping fresh ones", async () => {
    const watchers = createThreadWatchers(client);
    const threadId = uniqueId();
    const now = Date.now();
    await watchers.refresh(threadId, ["old"], { now: now - 20_000, ttlMs: 10_000 });
    await watchers.refresh(threadId, ["new"], { now, ttlMs: 10_000, prune: true });
    expect(await client.zrange(keys.threadWatchers(threadId), "0", "-1")).toEqual(["new"]);
  });
});
