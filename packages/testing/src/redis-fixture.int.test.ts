import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { useTestRedis } from "./redis-fixture.js";

const order: string[] = [];
const t = useTestRedis((url) => new Redis(url));

describe("useTestRedis", () => {
  it("gives the file a real Redis and a command connection to it", async () => {
    expect(await t.client.ping()).toBe("PONG");
    expect(t.redis.url).toMatch(/^redis:\/\//);
    t.cleanups.push(
      async () => order.push("first"),
      async () => order.push("second"),
    );
  });

  it("ran the previous test's cleanups after it, last first", () => {
    expect(order).toEqual(["second", "first"]);
    expect(t.cleanups).toEqual([]);
  });
});
