import { type RedisServer, startRedisServer, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

// While Redis is down, POST runs answers 503 UNAVAILABLE with Retry-After at once (it used to wait
// 19–33 s in the offline queue and the rate limit, then answer 500 INTERNAL); once Redis is back,
// runs are created again. A real redis-server, stopped and restarted.
let redis: RedisServer;
let h: ApiHarness;
beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: true });
  h = await startApiHarness({ REDIS_URL: redis.url, RATE_LIMIT_RUNS_PER_MINUTE: "100" });
});
afterAll(async () => {
  await h?.close();
  await redis?.dispose();
});

const createRun = () =>
  h.app.inject({
    method: "POST",
    url: `/v1/threads/${uniqueId("outage")}/runs`,
    headers: { authorization: h.bearer("alice") },
    payload: { input: { prompt: "hi" } },
  });

describe("POST runs during a Redis outage (real redis-server, stopped and restarted)", {
  timeout: 60_000,
}, () => {
  it("fails fast with 503 UNAVAILABLE + Retry-After while Redis is down, and creates runs again after", async () => {
    expect((await createRun()).statusCode).toBe(202);
    await redis.stop();

    await expect.poll(async () => (await createRun()).statusCode, { timeout: 10_000 }).toBe(503);
    const refused = await createRun();
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(refused.json().error).toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringContaining("Redis is unreachable"),
    });

    await redis.start();
    await expect.poll(async () => (await createRun()).statusCode, { timeout: 20_000 }).toBe(202);
  });
});
