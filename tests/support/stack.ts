import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import {
  freePort,
  getTestRedis,
  type RedisClusterHandle,
  type ServiceInstance,
  startRedisCluster,
  startServiceProcess,
  uniqueId,
} from "@threadline/testing";

export type ServiceName = "api" | "gateway" | "worker";

export interface StackOptions {
  /** An existing Redis; default: one from getTestRedis() (REDIS_URL, testcontainers or a spawned redis-server). */
  redisUrl?: string;
  /** Run on a local 3-master Redis Cluster started for this stack (REDIS_CLUSTER_NODES), instead. */
  cluster?: boolean;
  /** Number of workers started with the stack (default 1); more with `addWorker()`. */
  workers?: number;
  /** Env for every service, then per service. */
  env?: Record<string, string>;
  envFor?: Partial<Record<ServiceName, Record<string, string>>>;
  /** How long a service may take to answer /readyz (tsx compiles on start; 2 shared cores). Default 60 s. */
  readyTimeoutMs?: number;
}

export interface StackService extends ServiceInstance {
  /** Recent stdout+stderr. */
  logs(): string;
}

export interface Stack {
  api: StackService;
  gateway: StackService;
  workers: StackService[];
  redisUrl: string;
  /** The cluster this stack started (`cluster: true`). */
  cluster?: RedisClusterHandle;
  /** The env every service got (REDIS_URL, QUEUE_PREFIX, fast stall settings, …). */
  env: Record<string, string>;
  /** `Bearer <jwt>` signed with the dev secret the services use. */
  bearer(sub: string, claims?: { threads?: string[]; role?: "admin"; ttlSeconds?: number }): string;
  /** Starts one more worker with the same settings (e.g. to take over a killed one's jobs). */
  addWorker(env?: Record<string, string>): Promise<StackService>;
  /** Every service's recent output, labelled, for a failing test's message. */
  logs(): string;
  /** SIGTERM every service (SIGKILL after a grace), then release Redis if the stack obtained it. */
  stop(): Promise<void>;
}

/**
 * The default env of a test stack. Stall detection is fast (a killed worker's job is retried within
 * ~2 s) and the same on every worker, as BullMQ requires; retries back off briefly.
 */
export const STACK_ENV: Record<string, string> = {
  LOG_LEVEL: "info",
  STALLED_INTERVAL_MS: "1000",
  LOCK_DURATION_MS: "2000",
  RUN_BACKOFF_MS: "200",
  RATE_LIMIT_RUNS_PER_MINUTE: "0",
  HEARTBEAT_INTERVAL_MS: "2000",
};

/**
 * Spawns the three real services as child processes from source
 * (`node --conditions=@threadline/source --import tsx services/<x>/src/main.ts`, so no build is
 * needed) on free ports against a real Redis, each with its own queue prefix. Resolves once every
 * service answers /readyz.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started: StackService[] = [];
  let releaseRedis: () => Promise<void> = async () => {};
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.process.stop(s.kind === "worker" ? 10_000 : 5_000)));
    await releaseRedis();
  };
  try {
    let redisUrl = options.redisUrl;
    let cluster: RedisClusterHandle | undefined;
    if (options.cluster) {
      const started = await startRedisCluster();
      cluster = started;
      redisUrl = `redis://${started.nodes[0]!.host}:${started.nodes[0]!.port}`;
      releaseRedis = () => started.dispose();
    } else if (!redisUrl) {
      const redis = await getTestRedis();
      redisUrl = redis.url;
      releaseRedis = () => redis.stop();
    }
    const gatewayPort = await freePort();
    const env: Record<string, string> = {
      ...STACK_ENV,
      REDIS_URL: redisUrl,
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.nodesEnv } : {}),
      QUEUE_PREFIX: `{${uniqueId("e2e")}}`,
      ...options.env,
    };
    const start = async (
      kind: ServiceName,
      name: string,
      port: number,
      extra: Record<string, string> = {},
      signal?: AbortSignal,
    ) => {
      const instance = await startServiceProcess({
        kind,
        name,
        port,
        env: { ...env, ...options.envFor?.[kind], ...extra },
        ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
        ...(signal ? { signal } : {}),
      });
      const service = { ...instance, logs: () => instance.process.output() };
      started.push(service);
      return service;
    };
    const workerCount = options.workers ?? 1;
    // The first service that fails to start aborts the others still starting (each stops its
    // process); every start settles before the failure is thrown, so nothing is left running.
    const starting = new AbortController();
    let failure: unknown;
    const startOrAbort = (...args: Parameters<typeof start>) =>
      start(...args).catch((error: unknown) => {
        if (!starting.signal.aborted) {
          failure = error;
          starting.abort();
        }
        throw error;
      });
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const settled = await Promise.allSettled([
      startOrAbort("gateway", "gateway", gatewayPort, {}, starting.signal),
      startOrAbort("api", "api", await freePort(), { GATEWAY_PUBLIC_URL: gatewayUrl }, starting.signal),
      ...Array.from({ length: workerCount }, async (_, i) =>
        startOrAbort("worker", `worker-${i + 1}`, await freePort(), {}, starting.signal),
      ),
    ]);
    if (starting.signal.aborted) throw failure;
    const [gateway, api, ...workers] = settled.map((r) => (r as PromiseFulfilledResult<StackService>).value);
    let nextWorker = workerCount + 1;
    return {
      api: api!,
      gateway: gateway!,
      workers,
      redisUrl,
      ...(cluster ? { cluster } : {}),
      env,
      bearer: (sub, claims = {}) => `Bearer ${signDevToken(DEV_JWT_SECRET, { sub, ...claims })}`,
      async addWorker(extra = {}) {
        const worker = await start("worker", `worker-${nextWorker++}`, await freePort(), extra);
        workers.push(worker);
        return worker;
      },
      logs: () => started.map((s) => `----- ${s.name} -----\n${s.logs()}`).join("\n"),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
