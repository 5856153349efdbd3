import type { RunJobData } from "@threadline/protocol";
import { type JobsOptions, Queue } from "bullmq";
import { closeRedisClient, createRedisClient, type RedisConnectionConfig } from "./connections.js";

/**
 * The enqueue contract between the API (producer) and the workers (consumers):
 * - queue name `runs`, under `queuePrefix` (a hash tag such as `{tl}` in cluster mode);
 * - job name `run`, job id = the run id (so a run is enqueued at most once and found by its id);
 * - job data = `RunJobData` (the worker validates it again);
 * - attempts and backoff are chosen by the API per run.
 */
export const RUNS_QUEUE_NAME = "runs";
export const RUN_JOB_NAME = "run";

export interface RunsQueueConfig extends RedisConnectionConfig {
  queuePrefix: string;
}

export interface EnqueueOptions {
  /** Total tries including the first (BullMQ `attempts`); default 3. */
  attempts?: number;
  /** Delay before a retry; default exponential from 1 s. */
  backoff?: JobsOptions["backoff"];
}

/** What removing a run's job found: only a job that no worker holds can be removed. */
export type RemoveQueuedResult = "removed" | "active" | "finished" | "missing";

export interface RunsQueue {
  /** The BullMQ queue (for dashboards and metrics); owned by this object. */
  queue: Queue<RunJobData>;
  enqueue(data: RunJobData, options?: EnqueueOptions): Promise<void>;
  /**
   * Removes a run's job if it is still waiting or delayed (not yet taken by a worker). An `active`
   * job must be cancelled through the control channel instead.
   */
  removeQueued(runId: string): Promise<RemoveQueuedResult>;
  close(): Promise<void>;
}

/** Opens the `runs` queue on its own connection. */
export function createRunsQueue(config: RunsQueueConfig, options: { name?: string } = {}): RunsQueue {
  const connection = createRedisClient(config, {
    name: options.name ?? "threadline-runs-queue",
    bullmq: true,
  });
  const queue = new Queue<RunJobData>(RUNS_QUEUE_NAME, { connection, prefix: config.queuePrefix });
  return {
    queue,
    async enqueue(data, { attempts = 3, backoff = { type: "exponential", delay: 1_000 } } = {}) {
      await queue.add(RUN_JOB_NAME, data, {
        jobId: data.runId,
        attempts,
        backoff,
        // Run records and the replay log are the history; finished jobs only need to linger a while
        // for the dashboard.
        removeOnComplete: { age: 3_600, count: 1_000 },
        removeOnFail: { age: 24 * 3_600, count: 5_000 },
      });
    },
    async removeQueued(runId) {
      const job = await queue.getJob(runId);
      if (!job) return "missing";
      const state = await job.getState();
      if (state === "unknown") return "missing";
      if (state === "active") return "active";
      if (state === "completed" || state === "failed") return "finished";
      try {
        await job.remove();
        return "removed";
      } catch {
        // Taken by a worker between the state read and the removal (the job is locked).
        return (await job.getState()) === "active" ? "active" : "finished";
      }
    },
    async close() {
      await queue.close();
      await closeRedisClient(connection);
    },
  };
}
