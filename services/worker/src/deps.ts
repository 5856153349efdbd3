import { type ArchiveSql, connectArchive } from "@threadline/archive";
import type { WorkerConfig } from "@threadline/config";
import {
  closeRedisClient,
  createRedisClient,
  createRunsQueue,
  type RedisClient,
  type RunsQueue,
} from "@threadline/redis";
import type { Logger } from "pino";

/** The connections a worker runs on. Opened by `connectWorkerDeps` (or a test), owned by the caller. */
export interface WorkerConnections {
  /** Commands: publishing, run records, watcher reads, readiness. */
  redis: RedisClient;
  /** BullMQ's blocking connection (`maxRetriesPerRequest: null`). */
  bullConnection: RedisClient;
  /** Subscribes to the control channel (cancels); connects when the worker starts. */
  controlConnection: RedisClient;
  /** The `runs` queue, read for queue-depth metrics. */
  runsQueue: RunsQueue;
  /** The archive's PostgreSQL pool, present exactly when `config.archive` is set (ARCHIVE on). */
  archive?: ArchiveSql;
}

export interface ConnectedWorkerDeps extends WorkerConnections {
  close(): Promise<void>;
}

/**
 * Opens the worker's four Redis connections and, with the archive on, its PostgreSQL pool; `close()`
 * closes them (after the worker has closed).
 */
export function connectWorkerDeps(config: WorkerConfig, log: Logger): ConnectedWorkerDeps {
  const redis = createRedisClient(config.redis, { name: "threadline-worker" });
  const bullConnection = createRedisClient(config.redis, { name: "threadline-worker-bullmq", bullmq: true });
  // Waits out an outage: a worker started while Redis is away must not give up on its control
  // subscription after 20 retries (~35 s) and exit.
  const controlConnection = createRedisClient(config.redis, {
    name: "threadline-worker-control",
    lazyConnect: true,
    subscriber: true,
  });
  const runsQueue = createRunsQueue(config.redis, { name: "threadline-worker-queue" });
  for (const client of [redis, bullConnection]) {
    client.on("error", (error: Error) => log.warn({ err: error }, "redis connection error (reconnecting)"));
  }
  runsQueue.queue.on("error", (error: Error) =>
    log.warn({ err: error }, "queue connection error (reconnecting)"),
  );
  const archive = config.archive
    ? connectArchive(config.archive.databaseUrl, { name: "threadline-worker" })
    : undefined;
  return {
    redis,
    bullConnection,
    controlConnection,
    runsQueue,
    ...(archive ? { archive } : {}),
    async close() {
      await runsQueue.close();
      await Promise.all([closeRedisClient(redis), closeRedisClient(bullConnection)]);
      controlConnection.disconnect();
      await archive?.end({ timeout: 2 });
    },
  };
}
