import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createThreadWatchers } from "./thread-watchers.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

describe("threadWatchers (real Redis)", () => {
  it("counts members until their expiry, forgets removed ones, and expires the whole set", async () => {
    const watchers = createThreadWatchers(t.client);
    const threadId = uniqueId();
    const now = Date.now();
    expect(await watchers.countLive(threadId, now)).toBe(0);
    await watchers.refresh(threadId, ["gw-a:1", "gw-a:2"], { now, ttlMs: 10_000 });
    expect(await watchers.countLive(threadId, now)).toBe(2);
    // Past their expiry they no longer count, even before anyone prunes them.
    expect(await watchers.countLive(threadId, now + 10_000)).toBe(0);
    await watchers.remove(threadId, "gw-a:1");
    expect(await watchers.countLive(threadId, now)).toBe(1);
    const pttl = await t.client.pttl(keys.threadWatchers(threadId));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it("prunes expired members when asked, keeping fresh ones", async () => {
    const watchers = createThreadWatchers(t.client);
    const threadId = uniqueId();
    const now = Date.now();
    await watchers.refresh(threadId, ["old"], { now: now - 20_000, ttlMs: 10_000 });
    await watchers.refresh(threadId, ["new"], { now, ttlMs: 10_000, prune: true });
    expect(await t.client.zrange(keys.threadWatchers(threadId), "0", "-1")).toEqual(["new"]);
  });
});
