import type { AddressInfo } from "node:net";
import type { AgentRegistry } from "@threadline/agents";
import {
  type Archiver,
  createArchiveReader,
  createArchiver,
  createArchiveSweep,
  createArchiveWriter,
  createMergedLog,
  createThreadMemory,
  migrateArchive,
  purgeIdleThreads,
} from "@threadline/archive";
import type { WorkerConfig } from "@threadline/config";
import {
  createArchiveFeed,
  createEventPublisher,
  createRunLifecycle,
  createRunRecords,
  createThreadWatchers,
  RUNS_QUEUE_NAME,
  readLatestCheckpoint,
  renewIntervalMs,
  runBackoffStrategy,
  withArchiveFeed,
} from "@threadline/redis";
import { Worker } from "bullmq";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createActiveRuns } from "./active-runs.js";
import { type ControlListener, listenForControl } from "./control-listener.js";
import type { WorkerConnections } from "./deps.js";
import { buildHealthApp } from "./health-app.js";
import { createRunProcessor } from "./run-processor.js";
import { createWorkerMetrics, QUEUE_STATES, type QueueState, type WorkerMetrics } from "./worker-metrics.js";

/** What the worker is given; its connections stay the caller's (`connectWorkerDeps` opens them). */
export interface WorkerDeps extends WorkerConnections {
  log: Logger;
  agents: AgentRegistry;
  /** How often runs with `onDisconnect` check their thread's watchers (default 1000 ms). */
  disconnectCheckMs?: number;
  /** How often a long generation reports usage when its agent does not (tests shorten it). */
  progressIntervalMs?: number;
  /** How long to wait for handed-back runs to let go of their jobs (default 5000 ms). */
  handBackTimeoutMs?: number;
  now?: () => number;
}

export interface ThreadlineWorker {
  /** Starts the HTTP server, the control subscription and job processing. */
  start(): Promise<{ port: number }>;
  /**
   * Graceful stop: takes no new job, lets active runs finish within `graceMs`, hands the rest back
   * to the queue (another worker retries them), then closes every connection. Idempotent.
   */
  close(): Promise<void>;
  metrics: WorkerMetrics;
  /** Runs this process is executing now. */
  activeCount(): number;
}

/**
 * Builds a worker on the `runs` queue (no env, no listen until `start()`). `close()` closes what
 * the worker opened (its BullMQ worker, control subscription, archiver, HTTP server), never its
 * connections (Redis, and the archive's pool when the archive is on).
 */
export function buildWorker(config: WorkerConfig, deps: WorkerDeps): ThreadlineWorker {
  const { log, redis: commands, runsQueue } = deps;
  // With the archive on, every worker marks the threads it publishes to and runs an archiver.
  const archiveSetup = config.archive;
  const sql = deps.archive;
  if (Boolean(archiveSetup) !== Boolean(sql))
    throw new Error(
      archiveSetup
        ? "the archive is on (config.archive) but no archive connection was given (deps.archive)"
        : "an archive connection was given (deps.archive) but the archive is off (config.archive)",
    );

  const metrics = createWorkerMetrics(async () => {
    const counts = await runsQueue.queue.getJobCounts(...QUEUE_STATES);
    return counts as Record<QueueState, number>;
  });
  const active = createActiveRuns(deps.now ? { now: deps.now } : {});
  let closing: Promise<void> | undefined;
  const runStore = createRunRecords(commands, {
    onInvalid: ({ key, problem }) => log.warn({ key, problem }, "invalid run record; read as absent"),
  });
  const redisPublisher = createEventPublisher(commands, {
    logMaxLen: config.redis.logMaxLen,
    logTtlSeconds: config.redis.logTtlSeconds,
  });
  const feed = archiveSetup
    ? createArchiveFeed(commands, {
        markIntervalMs: archiveSetup.markIntervalMs,
        onError: (error) => log.warn({ err: error }, "could not mark a thread for the archiver"),
      })
    : undefined;
  let archiver: Archiver | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  const processor = createRunProcessor({
    agents: deps.agents,
    publisher: feed ? withArchiveFeed(redisPublisher, feed) : redisPublisher,
    latestCheckpoint: (threadId, runId) => readLatestCheckpoint(commands, threadId, runId),
    history: createThreadMemory({
      runs: runStore,
      ...(sql ? { archive: createArchiveReader(sql) } : {}),
      readPage: createMergedLog(commands, sql ? createArchiveReader(sql) : undefined),
      budget: config.memory,
    }),
    lifecycle: createRunLifecycle(commands, {
      logMaxLen: config.redis.logMaxLen,
      logTtlSeconds: config.redis.logTtlSeconds,
      ...(feed ? { onAppended: (threadId: string) => feed.touch(threadId) } : {}),
    }),
    active,
    watchers: createThreadWatchers(commands),
    metrics,
    log,
    tokenCoalesceMs: config.tokenCoalesceMs,
    disconnectCheckMs: deps.disconnectCheckMs ?? 1_000,
    renewEveryMs: renewIntervalMs(config.redis.logTtlSeconds),
    ...(deps.progressIntervalMs === undefined ? {} : { progressIntervalMs: deps.progressIntervalMs }),
    isClosing: () => closing !== undefined,
    ...(deps.now ? { now: deps.now } : {}),
  });

  const worker = new Worker(RUNS_QUEUE_NAME, processor.process, {
    connection: deps.bullConnection,
    prefix: config.redis.queuePrefix,
    concurrency: config.concurrency,
    stalledInterval: config.stalledIntervalMs,
    lockDuration: config.lockDurationMs,
    maxStalledCount: config.maxStalledCount,
    // Jobs enqueued with backoff type RUN_BACKOFF_TYPE wait the provider's retry-after when given.
    settings: { backoffStrategy: runBackoffStrategy },
    autorun: false,
  });
  worker.on("error", (error) => log.error({ err: error }, "worker error"));
  // A job that stalled more than maxStalledCount times fails inside BullMQ, without our processor:
  // finish its run here so its clients are told.
  worker.on("failed", (job, error) => {
    if (!job?.deferredFailure) return;
    processor
      .finishStalled(job, error)
      .catch((e: unknown) => log.error({ err: e }, "could not finish a stalled run"));
  });

  let control: ControlListener | undefined;
  let http: FastifyInstance | undefined;
  let running: Promise<void> | undefined;

  return {
    metrics,
    activeCount: () => active.size(),
    async start() {
      http = await buildHealthApp(config, {
        log,
        registry: metrics.registry,
        checkReady: async () => {
          if (closing) throw new Error("shutting down");
          await commands.ping();
        },
      });
      await http.listen({ host: config.host, port: config.port });
      const port = (http.server.address() as AddressInfo).port;
      if (sql && feed) {
        const applied = await migrateArchive(sql);
        if (applied.length > 0) log.info({ applied }, "archive migrations applied");
        archiver = createArchiver({
          feed,
          writer: createArchiveWriter({
            sql,
            redis: commands,
            runs: runStore,
            batchSize: config.archiver.batchSize,
          }),
          log: log.child({ component: "archiver" }),
          pollMs: config.archiver.pollMs,
          ...(config.archiver.sweepMs > 0
            ? {
                sweep: createArchiveSweep({
                  sql,
                  redis: commands,
                  feed,
                  log: log.child({ component: "archive-sweep" }),
                  intervalMs: config.archiver.sweepMs,
                }),
              }
            : {}),
        });
        archiver.start();
        const days = archiveSetup?.retentionDays ?? 0;
        if (days > 0) {
          // ARCHIVE_RETENTION_DAYS: hourly, every worker (deletes are idempotent and locked per thread).
          const purge = () =>
            purgeIdleThreads(sql, days).then(
              (n) => n > 0 && log.info({ threads: n, days }, "archive retention: idle threads purged"),
              (error: unknown) => log.warn({ err: error }, "archive retention purge failed"),
            );
          void purge();
          purgeTimer = setInterval(purge, 3_600_000);
          purgeTimer.unref();
        }
      }
      control = listenForControl(deps.controlConnection, log, (message) => {
        const held = active.cancel(message.runId, message.reason ?? "cancelled");
        if (held)
          log.info({ threadId: message.threadId, runId: message.runId }, "cancel received; aborting the run");
      });
      await control.ready;
      running = worker.run();
      running.catch((error: unknown) => log.error({ err: error }, "worker loop failed"));
      await worker.waitUntilReady();
      log.info({ port, concurrency: config.concurrency, prefix: config.redis.queuePrefix }, "worker ready");
      return { port };
    },
    close() {
      closing ??= (async () => {
        // Stops fetching at once; resolves when the active jobs are done (finished or handed back).
        const workerClosed = worker.close();
        const graceOver = new Promise<"timeout">((r) => setTimeout(r, config.graceMs, "timeout").unref());
        if ((await Promise.race([active.idle(), graceOver])) === "timeout") {
          log.warn({ runs: active.size(), graceMs: config.graceMs }, "grace period over; handing runs back");
          active.handBackAll();
        }
        const handBackTimeout = deps.handBackTimeoutMs ?? 5_000;
        await Promise.race([workerClosed, new Promise((r) => setTimeout(r, handBackTimeout).unref())]);
        await control?.close();
        clearInterval(purgeTimer);
        await archiver?.close();
        await feed?.flush().catch(() => {});
        await http?.close();
        log.info("worker closed");
      })();
      return closing;
    },
  };
}
