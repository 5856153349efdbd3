import { loadWorkerConfig } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import {
  closeRedisClient,
  createRedisClient,
  createRunsQueue,
  keys,
  subscribeThread,
} from "@threadline/redis";
import { type RedisClusterHandle, startRedisCluster, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brief, buildTestWorker, jobData, silentLog, testRegistry } from "./test-support/harness.js";

let cluster: RedisClusterHandle;
/** How long the worker's events may take to show on the channel, and how often to look. */
const EVENTS = { timeout: 10_000, interval: 20 };

beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.dispose();
});

describe("worker on Redis Cluster (3 masters)", { timeout: 30_000 }, () => {
  it("runs the demo agent (SPUBLISH on the thread's shard) and cancels through the control channel", async () => {
    const redis = { url: "redis://127.0.0.1:1", clusterNodes: cluster.nodes };
    const config = {
      ...loadWorkerConfig({
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        QUEUE_PREFIX: "{tlc}",
        LOG_LEVEL: "silent",
        TOKEN_COALESCE_MS: "0",
      }),
      port: 0,
    };
    const worker = buildTestWorker(config, { log: silentLog, agents: testRegistry() });
    await worker.start();
    const queue = createRunsQueue({ ...redis, queuePrefix: "{tlc}" });
    const events: ThreadEvent[] = [];
    const threadId = uniqueId("th");
    const sub = subscribeThread(createRedisClient(redis, { name: "test-watch" }), threadId, {
      onMessage: (raw) => events.push(JSON.parse(raw.toString()) as ThreadEvent),
    });
    await sub.ready;
    const publisher = createRedisClient(redis, { name: "test-control" });
    try {
      const fast = jobData(threadId, "demo", { prompt: "cluster", tokensPerSecond: 0, maxTokens: 8 });
      await queue.enqueue(fast);
      const slow = jobData(threadId, "demo", { prompt: "cluster slow", tokensPerSecond: 20, maxTokens: 500 });
      await queue.enqueue(slow);
      await expect
        .poll(() => events.filter((e) => e.runId === slow.runId && e.type === "token").length, EVENTS)
        .toBeGreaterThanOrEqual(2);
      await publisher.publish(
        keys.controlChannel(),
        JSON.stringify({ type: "cancel", threadId, runId: slow.runId }),
      );
      await expect
        .poll(() => events.some((e) => e.runId === slow.runId && e.type === "done"), EVENTS)
        .toBe(true);
      const of = (runId: string) => events.filter((e) => e.runId === runId);
      expect(of(fast.runId).map(brief).at(-1)).toBe("done:stop");
      expect(of(fast.runId).filter((e) => e.type === "token")).toHaveLength(8);
      expect(of(slow.runId).map(brief).slice(-2)).toEqual(["status:cancelled", "done:cancelled"]);
      for (const runId of [fast.runId, slow.runId]) {
        expect(of(runId).map((e) => e.seq)).toEqual(of(runId).map((_, i) => i + 1));
      }
    } finally {
      await sub.close();
      await closeRedisClient(publisher);
      await queue.close();
      await worker.close();
    }
  });
});
