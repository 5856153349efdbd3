import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createThreadMeta } from "./thread-meta.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

const claim = { createdAt: "2026-01-01T00:00:00.000Z", ttlSeconds: 600 };

describe("threadMeta (real Redis)", () => {
  it("the first subject claims a thread; later claims return that owner and keep createdAt", async () => {
    const meta = createThreadMeta(t.client);
    const threadId = uniqueId();
    expect(await meta.owner(threadId)).toBeNull();
    expect(await meta.claimOwner(threadId, "alice", claim)).toBe("alice");
    expect(await meta.claimOwner(threadId, "bob", { ...claim, createdAt: "2027-01-01T00:00:00.000Z" })).toBe(
      "alice",
    );
    expect(await meta.owner(threadId)).toBe("alice");
    expect(await t.client.hget(keys.threadMeta(threadId), "createdAt")).toBe(claim.createdAt);
  });

  it("a claim never leaves the meta key without a TTL (claim and expiry are one script)", async () => {
    const meta = createThreadMeta(t.client);
    const threadId = uniqueId();
    await meta.claimOwner(threadId, "alice", claim);
    const ttl = await t.client.ttl(keys.threadMeta(threadId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it("gives a meta hash that lost its TTL one again, and leaves an existing TTL alone", async () => {
    const meta = createThreadMeta(t.client);
    const stuck = uniqueId();
    // What a crash between the claim and the first publish used to leave behind: owned, no expiry.
    await t.client.hset(keys.threadMeta(stuck), "owner", "alice");
    expect(await t.client.ttl(keys.threadMeta(stuck))).toBe(-1);
    expect(await meta.claimOwner(stuck, "alice", claim)).toBe("alice");
    expect(await t.client.ttl(keys.threadMeta(stuck))).toBeGreaterThan(0);

    const live = uniqueId();
    await t.client.hset(keys.threadMeta(live), "owner", "alice");
    await t.client.expire(keys.threadMeta(live), 30);
    await meta.claimOwner(live, "bob", claim);
    expect(await t.client.ttl(keys.threadMeta(live))).toBeLessThanOrEqual(30);
  });

  it("concurrent first claims: exactly one subject wins and every caller sees the same owner", async () => {
    const meta = createThreadMeta(t.client);
    const threadId = uniqueId();
    const owners = await Promise.all(
      Array.from({ length: 20 }, (_, i) => meta.claimOwner(threadId, `user-${i}`, claim)),
    );
    expect(new Set(owners).size).toBe(1);
  });
});
