import { RunJobData } from "@threadline/protocol";
import { type RedisClient, RUNS_QUEUE_NAME } from "@threadline/redis";
import { Queue } from "bullmq";

/** The states a run's job can be in that `threadline runs` shows, most urgent first. */
const STATES = ["active", "waiting", "prioritized", "delayed", "failed", "completed"] as const;

export interface RecentRun {
  state: (typeof STATES)[number];
  runId: string;
  /** Undefined when the job's data is not a valid RunJobData (never written by the API). */
  threadId: string | undefined;
  agent: string | undefined;
  owner: string | undefined;
  createdAt: number;
  attempts: number;
}

/**
 * The newest `limit` runs of every thread and subject, read from the `runs` queue: what is running, waiting
 * or delayed now, and what finished lately (BullMQ keeps completed jobs 1 h, failed ones 24 h).
 */
export async function recentRuns(client: RedisClient, prefix: string, limit: number): Promise<RecentRun[]> {
  const queue = new Queue(RUNS_QUEUE_NAME, { connection: client, prefix });
  try {
    const runs: RecentRun[] = [];
    for (const state of STATES) {
      for (const job of await queue.getJobs([state], 0, limit - 1, false)) {
        if (!job?.id) continue;
        const data = RunJobData.safeParse(job.data);
        runs.push({
          state,
          runId: data.success ? data.data.runId : job.id,
          threadId: data.data?.threadId,
          agent: data.data?.agent,
          owner: data.data?.owner,
          createdAt: job.timestamp,
          attempts: job.attemptsMade,
        });
      }
    }
    return runs.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  } finally {
    await queue.close();
  }
}
