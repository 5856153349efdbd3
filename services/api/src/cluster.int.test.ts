import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET, loadApiConfig } from "@threadline/config";
import {
  closeRedisClient,
  createRedisClient,
  createRunsQueue,
  keys,
  type RedisClient,
  type RunsQueue,
} from "@threadline/redis";
import { type RedisClusterHandle, startRedisCluster, uniqueId } from "@threadline/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "./app.js";

// The same API against a real 3-master Redis Cluster: every multi-key step must stay in one slot.
let cluster: RedisClusterHandle;
let redis: RedisClient;
let queue: RunsQueue;
let app: FastifyInstance;
const auth = { authorization: `Bearer ${signDevToken(DEV_JWT_SECRET, { sub: "alice" })}` };

beforeAll(async () => {
  cluster = await startRedisCluster();
  const config = loadApiConfig({
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    QUEUE_PREFIX: `{${uniqueId("q")}}`,
    RATE_LIMIT_RUNS_PER_MINUTE: "5",
  });
  redis = createRedisClient(config.redis, { name: "api-cluster-test" });
  queue = createRunsQueue(config.redis);
  app = await buildApi(config, {
    redis,
    createBlockingConnection: (name) => createRedisClient(config.redis, { name }),
    queue,
    agents: createAgentRegistry(defaultAgents()),
  });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await queue?.close();
  if (redis) await closeRedisClient(redis);
  await cluster?.dispose();
});

describe("API on Redis Cluster", () => {
  it("creates, reads, lists and cancels runs and pages the log", async () => {
    const threadId = uniqueId();
    const created = await app.inject({
      method: "POST",
      url: `/v1/threads/${threadId}/runs`,
      headers: auth,
      payload: { input: { prompt: "hi" } },
    });
    expect(created.statusCode).toBe(202);
    // The run limit's counter (a Lua script on one key) works on the cluster too.
    expect(created.headers).toMatchObject({ "x-ratelimit-limit": "5", "x-ratelimit-remaining": "4" });
    const { runId } = created.json();
    expect(await redis.hget(keys.threadMeta(threadId), "owner")).toBe("alice");
    expect(
      (await app.inject({ url: `/v1/threads/${threadId}/runs/${runId}`, headers: auth })).json().status,
    ).toBe("queued");
    expect(
      (await app.inject({ url: `/v1/threads/${threadId}/runs`, headers: auth })).json().runs,
    ).toHaveLength(1);

    const cancelled = await app.inject({
      method: "POST",
      url: `/v1/threads/${threadId}/runs/${runId}/cancel`,
      headers: auth,
    });
    expect(cancelled.json()).toMatchObject({ status: "cancelled" });
    const page = (await app.inject({ url: `/v1/threads/${threadId}/events?after=0`, headers: auth })).json();
    expect(page.events.map((e: { type: string }) => e.type)).toEqual(["status", "status", "done"]);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
  });
});
