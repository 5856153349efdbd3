import { encodeWsEvent } from "@threadline/protocol";
import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import { openSse, type RedisClusterHandle, startRedisCluster, uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";
import { connectWs, type WsTestClient } from "./test-support/ws-client.js";

let cluster: RedisClusterHandle;
let client: RedisClient;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createRedisClient({ url: "redis://unused", clusterNodes: cluster.nodes }, { name: "test-admin" });
});
afterAll(async () => {
  await closeRedisClient(client);
  await cluster.dispose();
});

/** The node (port) that serves a thread's channel `thread:<id>` and its keys. */
async function shardOf(threadId: string): Promise<number> {
  const node = new Redis(cluster.nodes[0]!.port, cluster.nodes[0]!.host);
  try {
    const slot = Number(await node.call("CLUSTER", "KEYSLOT", `thread:${threadId}`));
    const ranges = (await node.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!owner) throw new Error(`no node serves slot ${slot}`);
    return owner[2][1];
  } finally {
    node.disconnect();
  }
}

/** One thread id per shard of the cluster: a socket carrying them subscribes on every shard. */
async function oneThreadPerShard(): Promise<string[]> {
  const byShard = new Map<number, string>();
  while (byShard.size < cluster.nodes.length) {
    const threadId = uniqueId("shard");
    const shard = await shardOf(threadId);
    if (!byShard.has(shard)) byShard.set(shard, threadId);
  }
  return [...byShard.values()];
}

/** Pub/sub connections per node, in the order of `cluster.nodes`. */
async function pubsubPerNode(): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (n) => {
      const node = new Redis(n.port, n.host);
      try {
        return String(await node.call("CLIENT", "LIST", "TYPE", "pubsub"))
          .split("\n")
          .filter((l) => l.trim() !== "").length;
      } finally {
        node.disconnect();
      }
    }),
  );
}

async function killPubsubEverywhere() {
  await Promise.all(
    cluster.nodes.map(async (n) => {
      const node = new Redis(n.port, n.host);
      await node.call("CLIENT", "KILL", "TYPE", "pubsub");
      node.disconnect();
    }),
  );
}

describe.each(["dedicated", "shared"] as const)("Redis Cluster, sharded pub/sub (%s subscribers)", (mode) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway("redis://unused", {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      SUBSCRIBER_MODE: mode,
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it("replays, goes live and survives CLIENT KILL TYPE pubsub on every shard", {
    timeout: 30_000,
  }, async () => {
    const threads = [uniqueId(), uniqueId(), uniqueId()];
    const publisher = createEventPublisher(client, { logMaxLen: 1000, logTtlSeconds: 60 });
    const first = await Promise.all(
      threads.map((t) => publisher.publish({ threadId: t, runId: "r" }, { type: "token", content: "0" })),
    );
    const conns = await Promise.all(
      threads.map((t) =>
        openSse(gw.eventsUrl(t, { after: "0" }), { headers: { authorization: `Bearer ${gw.token()}` } }),
      ),
    );
    for (const c of conns) await c.waitForEvents(1);
    expect(conns.map((c) => c.events[0]?.id)).toEqual(first.map((p) => p.id));

    for (let i = 1; i <= 200; i++) {
      await Promise.all(
        threads.map((t) =>
          publisher.publish({ threadId: t, runId: "r" }, { type: "token", content: `${i}` }),
        ),
      );
      if (i === 50 || i === 120) await killPubsubEverywhere();
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    for (const c of conns) {
      await c.waitForEvents(201, 15_000);
      expect(c.json<{ seq: number }>().map((e) => e.seq)).toEqual(
        Array.from({ length: 201 }, (_, i) => i + 1),
      );
      c.close();
    }
    expect(await gw.metric("threadline_gateway_resubscribes_total")).toBeGreaterThanOrEqual(2);
  });

  it("WebSocket: one socket carries threads on every shard (SSUBSCRIBE per shard), survives CLIENT KILL and resumes each thread", {
    timeout: 30_000,
  }, async () => {
    const threads = await oneThreadPerShard();
    expect(new Set(await Promise.all(threads.map(shardOf))).size).toBe(cluster.nodes.length);
    const publisher = createEventPublisher(client, { logMaxLen: 1000, logTtlSeconds: 60 });
    const publishAll = (content: string) =>
      Promise.all(
        threads.map((t) => publisher.publish({ threadId: t, runId: "r" }, { type: "token", content })),
      );
    const frames = async (threadId: string, after = "0") =>
      (await readLog(client, threadId, after, 1000)).entries.map((e) => encodeWsEvent(e.json));
    const ws = `${gw.base.replace("http", "ws")}/v1/ws`;
    const sockets: WsTestClient[] = [];
    try {
      await publishAll("before");
      const before = await pubsubPerNode();
      const socket = await connectWs(ws, { authorization: `Bearer ${gw.token()}` });
      sockets.push(socket);
      for (const threadId of threads) socket.send({ type: "subscribe", threadId, after: "0" });
      await socket.waitFor((c) => threads.every((t) => c.eventsOf(t).length === 1));
      if (mode === "dedicated") {
        // One subscriber connection per shard for this socket's three threads (none in shared mode).
        const during = await pubsubPerNode();
        expect(during.map((n, i) => n - before[i]!)).toEqual(cluster.nodes.map(() => 1));
      }
      const resubscribesBefore = await gw.metric("threadline_gateway_resubscribes_total");
      for (let i = 1; i <= 60; i++) {
        await publishAll(`${i}`);
        if (i === 20 || i === 40) await killPubsubEverywhere();
      }
      await socket.waitFor((c) => threads.every((t) => c.eventsOf(t).length === 61), 15_000);
      for (const t of threads) expect(socket.eventsOf(t)).toEqual(await frames(t));
      expect(socket.errors()).toEqual([]);
      // The kills did hit this socket's subscriptions: they were restored and backfilled from the log.
      expect(await gw.metric("threadline_gateway_resubscribes_total")).toBeGreaterThan(resubscribesBefore);

      // Resume on a new socket after each thread's last id: only what was published in between.
      const lastIds = await Promise.all(
        threads.map(async (t) => (await readLog(client, t, "0", 1000)).entries.at(-1)!.id),
      );
      socket.close();
      for (let i = 61; i <= 70; i++) await publishAll(`${i}`);
      const resumed = await connectWs(ws, { authorization: `Bearer ${gw.token()}` });
      sockets.push(resumed);
      for (const [i, threadId] of threads.entries()) {
        resumed.send({ type: "subscribe", threadId, after: lastIds[i] });
      }
      await resumed.waitFor((c) => threads.every((t) => c.eventsOf(t).length === 10), 15_000);
      for (const [i, t] of threads.entries())
        expect(resumed.eventsOf(t)).toEqual(await frames(t, lastIds[i]));
      await publishAll("live");
      await resumed.waitFor((c) => threads.every((t) => c.eventsOf(t).length === 11), 15_000);
      expect(resumed.errors()).toEqual([]);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
