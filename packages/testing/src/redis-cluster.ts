import { execFile } from "node:child_process";
import { promisify } from "node:util";
import getPort from "get-port";
import { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "./redis-server.js";
import { type TestEnv, testEnv } from "./test-env.js";

const run = promisify(execFile);

export interface RedisClusterHandle {
  nodes: { host: string; port: number }[];
  servers: RedisServer[];
  /** `REDIS_CLUSTER_NODES` value for services. */
  nodesEnv: string;
  dispose(): Promise<void>;
}

/**
 * Starts a local 3-master Redis Cluster (no replicas) on free ports with `redis-cli --cluster create`
 * (binaries from `env`: default what vitest.config.ts provides).
 */
export async function startRedisCluster(masters = 3, env: TestEnv = testEnv()): Promise<RedisClusterHandle> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await getPort({ host: "127.0.0.1" });
      servers.push(
        await startRedisServer({
          port,
          ...(env.REDIS_SERVER_BIN ? { bin: env.REDIS_SERVER_BIN } : {}),
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${port}.conf`,
            "--cluster-node-timeout",
            "2000",
          ],
        }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run(env.REDIS_CLI_BIN ?? "redis-cli", [
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await waitForClusterOk(servers[0]!.port);
  } catch (error) {
    await Promise.all(servers.map((s) => s.dispose()));
    throw error;
  }
  const nodes = servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
  return {
    nodes,
    servers,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    dispose: async () => {
      await Promise.all(servers.map((s) => s.dispose()));
    },
  };
}

async function waitForClusterOk(port: number): Promise<void> {
  const client = new Redis(port, "127.0.0.1");
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const info = String(await client.call("CLUSTER", "INFO"));
      if (info.includes("cluster_state:ok")) return;
      if (Date.now() > deadline) throw new Error(`cluster did not become ok: ${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.disconnect();
  }
}
