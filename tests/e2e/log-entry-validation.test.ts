import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  keys,
  type RedisClient,
} from "@threadline/redis";
import { eventually, openSse, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";
import { parseExposition } from "../support/prometheus-text.js";
import { type Stack, startStack } from "../support/stack.js";

// Issue 14 item 2: one bad replay-log entry used to make the API's JSON page answer 500 forever
// (non-JSON) or serve it verbatim (unknown type) while the gateway's stream dropped it. Both readers
// must apply the same rule and count the drop under the same reason; no producer path may write it.
let stack: Stack;
let redis: RedisClient;

beforeAll(async () => {
  stack = await startStack({ workers: 0 });
  redis = createRedisClient({ url: stack.redisUrl }, { name: "e2e-log-junk" });
}, 120_000);
afterAll(async () => {
  if (redis) await closeRedisClient(redis);
  await stack?.stop();
}, 60_000);

async function dropped(url: string, metric: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return parseExposition(text).value(metric, { reason }) ?? 0;
}

describe("a bad replay-log entry (written past the publish script)", () => {
  it("the API's page and the gateway's stream drop the same entries and count them under the same reasons", async () => {
    const threadId = uniqueId("junk");
    const publisher = createEventPublisher(redis, { logMaxLen: 1000, logTtlSeconds: 600 });
    const target = { threadId, runId: "r1" };
    await publisher.publish(target, { type: "token", content: "before" });
    // Entries the script refuses, written straight into the stream (an old version, a hand XADD).
    await redis.xadd(keys.threadLog(threadId), "*", "e", '{"seq":2,"runId":"r1" not json');
    await redis.xadd(
      keys.threadLog(threadId),
      "*",
      "e",
      JSON.stringify({ seq: 3, type: "bogus", threadId, runId: "r1", ts: 1, content: "x" }),
    );
    await publisher.publish(target, { type: "token", content: "after" });
    await publisher.publish(target, { type: "done", content: { finishReason: "stop" } });

    const metric = (service: string) => `threadline_${service}_invalid_messages_dropped_total`;
    const auth = stack.bearer("junk-reader", { threads: [threadId] });
    const page = await httpJson<{ events: { id: string; content: unknown }[] }>(
      `${stack.api.url}/v1/threads/${threadId}/events?after=0`,
      { authorization: auth },
    );
    expect(page.status).toBe(200);
    expect(page.body.events.map((e) => e.content)).toEqual(["before", "after", { finishReason: "stop" }]);

    const stream = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?after=0&until=done`, {
      headers: { authorization: auth },
    });
    await stream.ended;
    expect(stream.events.map((e) => e.id)).toEqual(page.body.events.map((e) => e.id));
    expect(stream.events.map((e) => e.data)).toEqual(page.body.events.map((e) => JSON.stringify(e)));

    // This stack is this file's own: each reader counted each bad entry once.
    for (const reason of ["not_json", "unknown_type"]) {
      for (const [service, url] of [
        ["api", stack.api.url],
        ["gateway", stack.gateway.url],
      ] as const) {
        await eventually(
          () => dropped(url, metric(service), reason),
          (n) => n === 1,
          `${service} counting one ${reason} drop`,
        );
      }
    }
  });
});
