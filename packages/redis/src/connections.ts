import { Cluster, Redis, type RedisOptions } from "ioredis";

/** A command connection: a standalone client or a cluster client, used the same way. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionConfig {
  url: string;
  clusterNodes?: { host: string; port: number }[];
  /** Reconnects a plain command waits out before it fails (`REDIS_COMMAND_RETRIES`); default 20. */
  commandRetries?: number;
}

/** ioredis's own default: about 30 s of outage with the backoff below. */
export const DEFAULT_COMMAND_RETRIES = 20;

export interface ConnectionOptions {
  /** Shown in `CLIENT LIST` (`name=`), so operators can tell connections apart. */
  name: string;
  /**
   * BullMQ requires `maxRetriesPerRequest: null` (blocking commands must wait out a reconnect) and
   * no ready check delay; use this variant for Queue, Worker and QueueEvents connections only.
   */
  bullmq?: boolean;
  /** Don't connect until the first command (subscribers connect explicitly). */
  lazyConnect?: boolean;
  /**
   * A dedicated subscriber: SUBSCRIBE, and the resubscribe ioredis sends by itself after a reconnect
   * (which nobody awaits: its rejection would be unhandled and end the process), wait out an outage
   * of any length instead of failing after 20 retries.
   */
  subscriber?: boolean;
}

/**
 * Reconnect defaults, shared by every connection:
 * - back off 50 ms → 2 s with jitter, forever: a Redis restart must heal by itself, and jitter keeps
 *   thousands of gateway subscribers from reconnecting in lockstep;
 * - commands wait in the offline queue across a reconnect, but a plain command gives up after
 *   `commandRetries` reconnects (20: ~30 s) so a request handler answers with an error instead of
 *   hanging (BullMQ and dedicated subscriber connections wait for good: nothing answers a request
 *   from them); tests set fewer to outlast the budget in seconds, not half a minute;
 * - RESP2 keeps replies and pub/sub framing identical to what `redis-cli` shows.
 */
export function baseOptions(
  options: ConnectionOptions,
  commandRetries = DEFAULT_COMMAND_RETRIES,
): RedisOptions {
  return {
    connectionName: options.name,
    protocol: 2,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000) * (0.75 + Math.random() * 0.5),
    maxRetriesPerRequest: options.bullmq || options.subscriber ? null : commandRetries,
    enableReadyCheck: !options.bullmq,
    connectTimeout: 5_000,
    lazyConnect: options.lazyConnect ?? false,
  };
}

/** Opens a connection to Redis, or to Redis Cluster when `clusterNodes` is set. */
export function createRedisClient(config: RedisConnectionConfig, options: ConnectionOptions): RedisClient {
  const redisOptions = baseOptions(options, config.commandRetries);
  if (config.clusterNodes && config.clusterNodes.length > 0) {
    return new Cluster(config.clusterNodes, {
      // SSUBSCRIBE must go to the shard that owns the channel's slot.
      shardedSubscribers: true,
      // Per-shard subscriber connections open only for shards that hold a subscribed channel (ioredis
      // reads `lazyConnect` here for them); eager, a gateway stream would hold one per master.
      redisOptions: { ...redisOptions, lazyConnect: true },
      clusterRetryStrategy: redisOptions.retryStrategy,
      enableOfflineQueue: true,
      lazyConnect: redisOptions.lazyConnect ?? false,
      ...(options.bullmq ? { enableReadyCheck: false } : {}),
    });
  }
  return new Redis(config.url, redisOptions);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Closes a connection politely (QUIT), falling back to a hard disconnect when Redis is unreachable. */
export async function closeRedisClient(client: RedisClient, timeoutMs = 1_000): Promise<void> {
  if (client.status === "end") return;
  let timer: NodeJS.Timeout | undefined;
  const hard = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.disconnect();
      resolve();
    }, timeoutMs);
  });
  try {
    await Promise.race([
      client.quit().then(
        () => undefined,
        () => client.disconnect(),
      ),
      hard,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
