import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
} from "@threadline/redis";
import { openSse, type RedisClusterHandle, startRedisCluster, uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";

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
      if (i === 50 || i === 120) {
        await Promise.all(
          cluster.nodes.map(async (n) => {
            const node = new Redis(n.port, n.host);
            await node.call("CLIENT", "KILL", "TYPE", "pubsub");
            node.disconnect();
          }),
        );
      }
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    for (const c of conns) {
      await c.waitForEvents(201, 15_000);
      expect(c.json<{ seq: number }>().map((e) => e.seq)).toEqual(
        Array.from({ length: 201 }, (_, i) => i + 1),
      );
      c.close();
    }
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    const resubscribes = Number(/threadline_gateway_resubscribes_total (\d+)/.exec(metrics)?.[1]);
    expect(resubscribes).toBeGreaterThanOrEqual(2);
  });
});
