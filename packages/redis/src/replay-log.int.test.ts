import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { createEventPublisher } from "./publisher.js";
import { LOG_START, readLogTail } from "./replay-log.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

describe("replayLog tail (real Redis)", () => {
  it("is LOG_START for an empty log, then the newest entry's id", async () => {
    const threadId = uniqueId();
    expect(await readLogTail(t.client, threadId)).toBe(LOG_START);
    const publisher = createEventPublisher(t.client, { logMaxLen: 100, logTtlSeconds: 60 });
    await publisher.publish({ threadId }, { type: "token", content: "a" });
    const last = await publisher.publish({ threadId }, { type: "token", content: "b" });
    expect(await readLogTail(t.client, threadId)).toBe(last.id);
  });
});
