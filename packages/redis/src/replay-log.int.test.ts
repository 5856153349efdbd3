import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient, type RedisClient } from "./connections.js";
import { createEventPublisher } from "./publisher.js";
import { LOG_START, readLogTail } from "./replay-log.js";

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

describe("replayLog tail (real Redis)", () => {
  it("is LOG_START for an empty log, then the newest entry's id", async () => {
    const threadId = uniqueId();
    expect(await readLogTail(client, threadId)).toBe(LOG_START);
    const publisher = createEventPublisher(client, { logMaxLen: 100, logTtlSeconds: 60 });
    await publisher.publish({ threadId }, { type: "token", content: "a" });
    const last = await publisher.publish({ threadId }, { type: "token", content: "b" });
    expect(await readLogTail(client, threadId)).toBe(last.id);
  });
});
