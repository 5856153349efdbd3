import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createRunStore } from "./run-store.js";

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

describe("run store", () => {
  it("creates, updates, reads and lists runs newest first", async () => {
    const store = createRunStore(client);
    const threadId = uniqueId();
    const base = { threadId, agent: "demo", status: "queued" as const, attempts: 0, metadata: { a: 1 } };
    await store.create({ ...base, runId: "r1", createdAt: "2026-01-01T00:00:00.000Z" }, 60);
    await store.create({ ...base, runId: "r2", createdAt: "2026-01-01T00:00:01.000Z" }, 60);
    await store.update(threadId, "r1", {
      status: "completed",
      attempts: 1,
      finishedAt: "2026-01-01T00:00:02.000Z",
      output: { text: "hi" },
    });
    expect(await store.get(threadId, "r1")).toEqual({
      ...base,
      runId: "r1",
      createdAt: "2026-01-01T00:00:00.000Z",
      status: "completed",
      attempts: 1,
      finishedAt: "2026-01-01T00:00:02.000Z",
      output: { text: "hi" },
    });
    expect((await store.list(threadId, 10)).map((r) => r.runId)).toEqual(["r2", "r1"]);
    expect(await store.get(threadId, "missing")).toBeUndefined();
    expect(await client.ttl(keys.run(threadId, "r1"))).toBeGreaterThan(0);
  });
});
