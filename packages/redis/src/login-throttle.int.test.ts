import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createLoginThrottle } from "./login-throttle.js";

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

describe("loginThrottle (real Redis)", () => {
  it("blocks an address from its Nth refusal until the window that its first one opened ends", async () => {
    const throttle = createLoginThrottle(client, { maxFailures: 2, windowMs: 600 });
    const address = uniqueId("addr");
    const other = uniqueId("addr");
    expect(await throttle.blockedFor(address)).toBe(0);
    expect(await throttle.recordFailure(address)).toBe(0);
    expect(await throttle.blockedFor(address)).toBe(0);
    const blocked = await throttle.recordFailure(address);
    expect(blocked).toBeGreaterThan(0);
    expect(blocked).toBeLessThanOrEqual(600);
    expect(await throttle.blockedFor(address)).toBeGreaterThan(0);
    // The window is fixed: more refusals do not push it further out.
    const pttl = await client.pttl(keys.adminLoginFailures(address));
    await throttle.recordFailure(address);
    expect(await client.pttl(keys.adminLoginFailures(address))).toBeLessThanOrEqual(pttl);
    expect(await throttle.blockedFor(other)).toBe(0);
    await expect.poll(() => throttle.blockedFor(address), { timeout: 3_000, interval: 100 }).toBe(0);
    expect(await client.exists(keys.adminLoginFailures(address))).toBe(0);
  });

  it("never leaves a counter without its expiry", async () => {
    const throttle = createLoginThrottle(client, { maxFailures: 100, windowMs: 60_000 });
    const address = uniqueId("addr");
    await Promise.all(Array.from({ length: 50 }, () => throttle.recordFailure(address)));
    expect(await client.get(keys.adminLoginFailures(address))).toBe("50");
    const pttl = await client.pttl(keys.adminLoginFailures(address));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });
});
