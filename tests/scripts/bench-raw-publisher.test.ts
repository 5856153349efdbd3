import { parseChannelMessage } from "@threadline/protocol";
import { createEventPublisher, createRedisClient } from "@threadline/redis";
import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRawPublisher } from "../../scripts/bench/lib/raw-publisher.js";

// The bench's raw publisher must put on the channel what the publish script puts there, or its
// figures would measure a path real events never take.
describe("bench raw publisher", () => {
  let redis: TestRedis;
  let sub: Redis;
  beforeAll(async () => {
    redis = await getTestRedis();
    sub = new Redis(redis.url);
  });
  afterAll(async () => {
    sub.disconnect();
    await redis.stop();
  });

  const receive = async (channel: string, count: number, publish: () => Promise<void>) => {
    const got: string[] = [];
    const onMessage = (ch: string, message: string) => ch === channel && got.push(message);
    sub.on("message", onMessage);
    await sub.subscribe(channel);
    await publish();
    await expect.poll(() => got.length).toBe(count);
    sub.off("message", onMessage);
    await sub.unsubscribe(channel);
    return got.map((m) => JSON.parse(m) as Record<string, unknown>);
  };

  it("publishes the script's message shape, with ids and seqs growing per thread", async () => {
    const thread = uniqueId("bench-raw");
    const client = createRedisClient({ url: redis.url }, { name: "test-script" });
    const script = createEventPublisher(client, { logMaxLen: 100, logTtlSeconds: 60 });
    const raw = createRawPublisher(redis.url);
    try {
      const [fromScript] = await receive(`thread:${thread}`, 1, async () => {
        await script.publish({ threadId: thread, runId: "bench" }, { type: "token", content: "2|1|5" });
      });
      const fromRaw = await receive(`thread:${thread}`, 2, async () => {
        await raw.publish(thread, "2|1|5");
        await raw.publish(thread, "2|2|6");
      });
      expect(Object.keys(fromRaw[0] ?? {})).toEqual(Object.keys(fromScript ?? {}));
      expect(fromRaw.map((e) => [e.seq, e.content])).toEqual([
        [1, "2|1|5"],
        [2, "2|2|6"],
      ]);
      const [ms, n] = String(fromRaw[1]?.id).split("-");
      expect(`${ms}-${Number(n) - 1}`).toBe(fromRaw[0]?.id);
      for (const e of fromRaw) {
        const parsed = parseChannelMessage(`thread:${thread}`, JSON.stringify(e));
        expect(parsed.ok).toBe(true);
      }
    } finally {
      raw.close();
      client.disconnect();
    }
  });
});
