import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseChannelMessage } from "@threadline/protocol";
import { type RedisClusterHandle, startRedisCluster, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient, isCluster, type RedisClient } from "./connections.js";
import { deleteThreadKeys } from "./delete-thread.js";
import { keys } from "./keys.js";
import { createEventPublisher } from "./publisher.js";
import { readLog } from "./replay-log.js";
import { createRunLifecycle } from "./run-lifecycle.js";
import { createRunRecords } from "./run-records.js";
import { subscribeThread } from "./subscribe-thread.js";
import { onSubscriberLost } from "./subscriber-lost.js";
import { createThreadMeta } from "./thread-meta.js";
import { createThreadWatchers } from "./thread-watchers.js";

const exec = promisify(execFile);
let cluster: RedisClusterHandle;
let client: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createRedisClient(
    { url: "redis://unused", clusterNodes: cluster.nodes },
    { name: "cluster-test" },
  );
}, 60_000);
afterAll(async () => {
  await closeRedisClient(client);
  await cluster.dispose();
});

/** How long a live message may take to arrive, and how often to look. */
const ARRIVAL = { timeout: 5_000, interval: 10 };

describe("Redis Cluster (3 local masters)", () => {
  it("puts a thread's log, meta and channel in one slot", async () => {
    expect(isCluster(client)).toBe(true);
    for (const threadId of ["demo", "a", uniqueId(), "x_y-Z"]) {
      const slots = await Promise.all(
        [
          keys.threadChannel(threadId),
          keys.threadLog(threadId),
          keys.threadMeta(threadId),
          keys.run(threadId, "r"),
          keys.threadRuns(threadId),
          keys.threadWatchers(threadId),
          keys.runPublishState(threadId, "r"),
        ].map((k) => client.call("CLUSTER", "KEYSLOT", k)),
      );
      expect(new Set(slots).size).toBe(1);
    }
  });

  it("runs the publish script with SPUBLISH: a sharded subscriber and the log agree", async () => {
    // Threads spread over every master: each one's script runs on the shard that owns its slot.
    const threadIds = Array.from({ length: 6 }, () => uniqueId());
    const publisher = createEventPublisher(client, { logMaxLen: 1000, logTtlSeconds: 60 });
    for (const threadId of threadIds) {
      const received: string[] = [];
      const sub = subscribeThread(
        createRedisClient({ url: "redis://unused", clusterNodes: cluster.nodes }, { name: "cluster-sub" }),
        threadId,
        { onMessage: (raw) => received.push(raw.toString()) },
      );
      await sub.ready;
      await publisher.publish({ threadId, runId: "r" }, { type: "token", content: "a" });
      await publisher.publish({ threadId, runId: "r" }, { type: "done", content: { finishReason: "stop" } });
      await expect.poll(() => received.length, ARRIVAL).toBe(2);
      await sub.close();
      const page = await readLog(client, threadId, "0", 10);
      expect(page.entries.map((e) => e.json)).toEqual(received);
      expect(received.map((r) => JSON.parse(r).seq)).toEqual([1, 2]);
    }
  });

  it("delivers a hand `redis-cli -c spublish`", async () => {
    const threadId = uniqueId();
    const received: string[] = [];
    const sub = subscribeThread(
      createRedisClient({ url: "redis://unused", clusterNodes: cluster.nodes }, { name: "cluster-sub" }),
      threadId,
      { onMessage: (raw) => received.push(raw.toString()) },
    );
    await sub.ready;
    const port = String(cluster.nodes[0]!.port);
    await exec("redis-cli", [
      "-c",
      "-p",
      port,
      "spublish",
      keys.threadChannel(threadId),
      '{"type":"token","content":"hi"}',
    ]);
    await expect.poll(() => received.length, ARRIVAL).toBe(1);
    await sub.close();
    expect(parseChannelMessage(keys.threadChannel(threadId), received[0]!).ok).toBe(true);
  });

  it("tells a sharded subscriber when it is live again after CLIENT KILL TYPE pubsub, and delivers again", async () => {
    const threadId = uniqueId();
    const received: string[] = [];
    let resubscribed = 0;
    const order: string[] = [];
    const connection = createRedisClient(
      { url: "redis://unused", clusterNodes: cluster.nodes },
      { name: "cluster-sub" },
    );
    onSubscriberLost(connection, () => order.push("lost"));
    const sub = subscribeThread(connection, threadId, {
      onMessage: (raw) => received.push(raw.toString()),
      onResubscribed: () => {
        resubscribed++;
        order.push("resubscribed");
      },
    });
    await sub.ready;
    expect(order).toEqual([]);
    const killed = await Promise.all(
      cluster.nodes.map((n) => exec("redis-cli", ["-p", String(n.port), "client", "kill", "type", "pubsub"])),
    );
    expect(killed.map((k) => Number(k.stdout.trim())).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await expect.poll(() => resubscribed, ARRIVAL).toBeGreaterThan(0);
    // The drop is reported first, so a caller can hold live messages back until it has backfilled.
    expect(order).toEqual(["lost", "resubscribed"]);
    const publisher = createEventPublisher(client, { logMaxLen: 1000, logTtlSeconds: 60 });
    await publisher.publish({ threadId, runId: "r" }, { type: "token", content: "after" });
    await expect.poll(() => received.length, ARRIVAL).toBe(1);
    await sub.close();
    expect(JSON.parse(received[0]!).content).toBe("after");
  });

  it("a thread subscription opens a subscriber connection on the owning shard only", async () => {
    const name = `lazy-${uniqueId()}`;
    const threadId = uniqueId();
    const sub = subscribeThread(
      createRedisClient({ url: "redis://unused", clusterNodes: cluster.nodes }, { name }),
      threadId,
      { onMessage: () => {} },
    );
    await sub.ready;
    const owner = Number(await client.call("CLUSTER", "KEYSLOT", keys.threadChannel(threadId)));
    const ranges = (await client.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
    const ownerPort = ranges.find(([from, to]) => owner >= from && owner <= to)![2][1];
    const subscribersByPort = await Promise.all(
      cluster.nodes.map(async (n) => {
        const { stdout } = await exec("redis-cli", ["-p", String(n.port), "client", "list"]);
        const count = stdout
          .split("\n")
          .filter((l) => l.includes(`name=ioredis-cluster(ssubscriber):${name}`));
        return [n.port, count.length] as const;
      }),
    );
    await sub.close();
    expect(subscribersByPort.filter(([, count]) => count > 0)).toEqual([[ownerPort, 1]]);
  });

  it("runs every named operation on the shard that owns the thread: claim, claimed start, lifecycle, records, watchers", async () => {
    const meta = createThreadMeta(client);
    const lifecycle = createRunLifecycle(client, { logMaxLen: 1000, logTtlSeconds: 60, runsIndexCap: 2 });
    const records = createRunRecords(client);
    const watchers = createThreadWatchers(client);
    for (const threadId of Array.from({ length: 6 }, () => uniqueId())) {
      expect(
        await meta.claimOwner(threadId, "alice", { createdAt: "2026-01-01T00:00:00.000Z", ttlSeconds: 60 }),
      ).toBe("alice");
      for (const runId of ["r1", "r2", "r3"])
        await lifecycle.start(
          { threadId, runId, agent: "demo" },
          meta.claimForStart("alice", { createdAt: "2026-01-01T00:00:00.000Z", requiredOwner: "alice" }),
        );
      await expect(
        lifecycle.start(
          { threadId, runId: "r4", agent: "demo" },
          meta.claimForStart("bob", { createdAt: "2026-01-01T00:00:00.000Z", requiredOwner: "bob" }),
        ),
      ).rejects.toThrow(/belongs to alice/);
      await lifecycle.running({ threadId, runId: "r3" }, 1, "2026-01-01T00:00:00.000Z");
      await lifecycle.fail({ threadId, runId: "r3" }, { code: "X", message: "x", retryable: false }, 1);
      expect((await records.list(threadId, 10)).map((r) => [r.runId, r.status])).toEqual([
        ["r3", "failed"],
        ["r2", "queued"],
      ]);
      await watchers.refresh(threadId, ["gw:1"], { now: Date.now(), ttlMs: 10_000, prune: true });
      expect(await watchers.countLive(threadId, Date.now())).toBe(1);
      expect(await meta.owner(threadId)).toBe("alice");
    }
  });

  it("deletes a thread in one script on its shard, fencing the run that had not ended", async () => {
    const lifecycle = createRunLifecycle(client, { logMaxLen: 1000, logTtlSeconds: 60 });
    for (const threadId of Array.from({ length: 6 }, () => uniqueId())) {
      for (const runId of ["r1", "r2"]) await lifecycle.start({ threadId, runId, agent: "demo" });
      await lifecycle.cancel({ threadId, runId: "r1" });
      const result = await deleteThreadKeys(client, threadId);
      expect(result.fencedRunIds).toEqual(["r2"]);
      expect(
        await client.exists(keys.threadLog(threadId), keys.threadMeta(threadId), keys.run(threadId, "r1")),
      ).toBe(0);
      expect(await client.hgetall(keys.runPublishState(threadId, "r2"))).toEqual({ done: "deleted" });
      await expect(
        lifecycle.running({ threadId, runId: "r2" }, 1, "2026-01-01T00:00:00.000Z"),
      ).rejects.toThrow(/RUN_ENDED/);
      expect(await client.exists(keys.threadLog(threadId))).toBe(0);
    }
  });
});
