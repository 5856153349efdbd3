import {
  getTestRedis,
  type RedisClusterHandle,
  type ServiceInstance,
  type ServiceKind,
  startRedisCluster,
  startServiceProcess,
  type TestEnv,
  testEnv,
} from "@threadline/testing";
import { type NginxHandle, startNginx } from "./start-nginx.js";

export type { ServiceInstance, ServiceKind };

export interface TopologyOptions {
  gateways?: number;
  apis?: number;
  workers?: number;
  /**
   * Where Redis is: an existing standalone URL, an existing cluster (`host:port,…`), or `"cluster"`
   * to start a local 3-master cluster. Default: a Redis from getTestRedis() (REDIS_URL or a spawned
   * redis-server).
   */
  redis?: { url: string } | { clusterNodes: string } | "cluster";
  /** Put nginx in front (default true). */
  nginx?: boolean;
  /** nginx also serves HTTP/2 over TLS with a self-signed certificate (`nginx.httpsUrl`). */
  tls?: boolean;
  /** Extra env for every service, then per kind (e.g. `{ gateway: { HEARTBEAT_INTERVAL_MS: "500" } }`). */
  env?: Record<string, string>;
  envFor?: Partial<Record<ServiceKind, Record<string, string>>>;
  /** Env for one instance (1-based index), applied last, e.g. a different SUBSCRIBER_MODE per gateway. */
  instanceEnv?: (kind: ServiceKind, index: number) => Record<string, string> | undefined;
  /** How long each service may take to answer /readyz; default 60 s (six tsx processes on 2 cores). */
  readyTimeoutMs?: number;
  /** PATH, HOME and the Redis knobs; default what vitest.config.ts provides (scripts pass `process.env`). */
  parentEnv?: TestEnv;
}

export interface Topology {
  /** nginx's URL (or the first gateway's when `nginx: false`). */
  url: string;
  nginx?: NginxHandle;
  gateways: ServiceInstance[];
  apis: ServiceInstance[];
  workers: ServiceInstance[];
  /** The Redis env every service got: REDIS_URL, and REDIS_CLUSTER_NODES in cluster mode. */
  redisEnv: Record<string, string>;
  /** Set when this topology started its own cluster. */
  cluster?: RedisClusterHandle;
  /** Stops nginx, then every service (SIGTERM, SIGKILL after a grace), then Redis if it started one. */
  stop(): Promise<void>;
}

/**
 * Runs Threadline scaled out on this machine without Docker: N gateways, M APIs and K workers as
 * real processes from source (tsx) on free ports, a real nginx in front rendered from
 * infra/nginx/threadline.conf, against standalone Redis or a Redis Cluster.
 */
export async function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  const parentEnv = options.parentEnv ?? testEnv();
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const { redisEnv, cluster } = await provideRedis(options.redis, cleanups, parentEnv);
    const plan: [ServiceKind, number][] = [
      ["gateway", options.gateways ?? 2],
      ["api", options.apis ?? 2],
      ["worker", options.workers ?? 2],
    ];
    const starts = plan.flatMap(([kind, count]) =>
      Array.from({ length: count }, (_, i) =>
        startServiceProcess({
          kind,
          name: `${kind}-${i + 1}`,
          env: {
            LOG_LEVEL: "warn",
            // nginx on loopback sets X-Forwarded-For/-Proto: the APIs believe it (and nobody else).
            ...(kind === "api" && options.nginx !== false ? { TRUST_PROXY: "loopback" } : {}),
            ...redisEnv,
            ...options.env,
            ...options.envFor?.[kind],
            ...options.instanceEnv?.(kind, i + 1),
          },
          ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
          parentEnv,
        }),
      ),
    );
    // Started in parallel; whatever did start is stopped again if another one failed.
    const settled = await Promise.allSettled(starts);
    const services: ServiceInstance[] = [];
    for (const result of settled) {
      if (result.status === "fulfilled") {
        const service = result.value;
        services.push(service);
        cleanups.push(() => service.process.stop(service.kind === "worker" ? 10_000 : 5_000));
      }
    }
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const gateways = services.filter((s) => s.kind === "gateway");
    const apis = services.filter((s) => s.kind === "api");
    const workers = services.filter((s) => s.kind === "worker");

    let nginx: NginxHandle | undefined;
    if (options.nginx !== false) {
      nginx = await startNginx({
        gateways: gateways.map((g) => `127.0.0.1:${g.port}`),
        apis: apis.map((a) => `127.0.0.1:${a.port}`),
        ...(parentEnv.PATH ? { path: parentEnv.PATH } : {}),
        ...(options.tls ? { tls: true } : {}),
      });
      const started = nginx;
      cleanups.push(() => started.stop());
    }
    return {
      url: nginx?.url ?? gateways[0]?.url ?? "",
      ...(nginx ? { nginx } : {}),
      gateways,
      apis,
      workers,
      redisEnv,
      ...(cluster ? { cluster } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function provideRedis(
  redis: TopologyOptions["redis"],
  cleanups: (() => Promise<void>)[],
  env: TestEnv,
): Promise<{ redisEnv: Record<string, string>; cluster?: RedisClusterHandle }> {
  if (redis === "cluster") {
    const cluster = await startRedisCluster(3, env);
    cleanups.push(() => cluster.dispose());
    return {
      redisEnv: {
        REDIS_URL: `redis://${cluster.nodes[0]!.host}:${cluster.nodes[0]!.port}`,
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
      },
      cluster,
    };
  }
  if (redis && "clusterNodes" in redis) {
    return { redisEnv: { REDIS_CLUSTER_NODES: redis.clusterNodes } };
  }
  if (redis) return { redisEnv: { REDIS_URL: redis.url } };
  const test = await getTestRedis(env);
  cleanups.push(() => test.stop());
  return { redisEnv: { REDIS_URL: test.url } };
}
