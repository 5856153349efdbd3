import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { closeRedisClient, createRedisClient, createRunRecords, readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "./app.js";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

const TIMEOUT_MS = 600;
let h: ApiHarness;
let second: FastifyInstance;
let secondRedis: ReturnType<typeof createRedisClient>;

beforeAll(async () => {
  h = await startApiHarness({ EXTERNAL_RUN_TIMEOUT_MS: String(TIMEOUT_MS), EXTERNAL_RUN_CHECK_MS: "50" });
  // A second API instance on the same Redis, with its own connection and its own silence check.
  secondRedis = createRedisClient(h.config.redis, { name: "api-test-2" });
  second = await buildApi(h.config, {
    redis: secondRedis,
    createBlockingConnection: (name) => createRedisClient(h.config.redis, { name }),
    queue: h.queue,
    agents: createAgentRegistry(defaultAgents()),
  });
  await second.ready();
});
afterAll(async () => {
  await second?.close();
  if (secondRedis) await closeRedisClient(secondRedis);
  await h?.close();
});

async function createExternal(app: FastifyInstance) {
  const res = await app.inject({
    method: "POST",
    url: `/v1/threads/${uniqueId("lost")}/runs`,
    headers: { authorization: h.bearer("owner"), "content-type": "application/json" },
    payload: JSON.stringify({ runner: "external" }),
  });
  expect(res.statusCode).toBe(202);
  return res.json() as { threadId: string; runId: string; publishUrl: string; publishToken: string };
}

function publish(app: FastifyInstance, run: { publishUrl: string; publishToken: string }, body: unknown) {
  return app.inject({
    method: "POST",
    url: run.publishUrl,
    headers: { authorization: `Bearer ${run.publishToken}`, "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
}

async function kinds(threadId: string) {
  const page = await readLog(h.redis, threadId, "0", 1000);
  return page.entries.map((e) => {
    const event = JSON.parse(e.json) as {
      type: string;
      content: { code?: string; state?: string; finishReason?: string };
    };
    return `${event.type}:${event.content.code ?? event.content.state ?? event.content.finishReason ?? ""}`;
  });
}

describe("external runs whose producer goes silent (two API instances)", { timeout: 30_000 }, () => {
  it("fails the run once with RUNNER_LOST and done {finishReason: error} after EXTERNAL_RUN_TIMEOUT_MS", async () => {
    const run = await createExternal(h.app);
    const started = Date.now();
    expect((await publish(second, run, { type: "status", content: { state: "running" } })).statusCode).toBe(
      200,
    );
    await expect
      .poll(async () => (await createRunRecords(h.redis).get(run.threadId, run.runId))?.status, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe("failed");
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // Both instances keep checking for a while: still exactly one failure in the log.
    await new Promise((r) => setTimeout(r, 300));
    expect(await kinds(run.threadId)).toEqual([
      "status:queued",
      "status:running",
      "error:RUNNER_LOST",
      "status:failed",
      "done:error",
    ]);
    expect(await createRunRecords(h.redis).get(run.threadId, run.runId)).toMatchObject({
      status: "failed",
      error: { code: "RUNNER_LOST", retryable: false },
    });
    const late = await publish(h.app, run, { type: "token", content: "I'm back" });
    expect(late.statusCode).toBe(409);
  });

  it("any event resets the timer: a producer that keeps publishing is never failed", async () => {
    const run = await createExternal(second);
    for (let i = 0; i < 8; i++) {
      expect(
        (await publish(i % 2 ? h.app : second, run, { type: "token", content: `${i}` })).statusCode,
      ).toBe(200);
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 3));
    }
    expect((await publish(h.app, run, { type: "done", content: { finishReason: "stop" } })).statusCode).toBe(
      200,
    );
    expect((await kinds(run.threadId)).filter((k) => k.startsWith("error"))).toEqual([]);
    expect((await createRunRecords(h.redis).get(run.threadId, run.runId))?.status).toBe("completed");
  });
});
