import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const JOB_OUTCOMES = [
  "completed",
  "cancelled",
  "retried",
  "failed",
  "handed_back",
  "invalid",
  "superseded",
] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

export const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface WorkerMetrics {
  registry: Registry;
  jobs: Counter<"outcome">;
  runDuration: Histogram<"outcome">;
  queueWait: Histogram;
  timeToFirstToken: Histogram;
  events: Counter<"type">;
  activeRuns: Gauge;
}

/**
 * Prometheus metrics of one worker process (`threadline_worker_*`), in their own registry so tests
 * can build many workers. Queue depth is sampled from Redis when scraped.
 */
export function createWorkerMetrics(sampleQueue: () => Promise<Record<QueueState, number>>): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "threadline_worker_" });
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
  const metrics: WorkerMetrics = {
    registry,
    jobs: new Counter({
      name: "threadline_worker_jobs_total",
      help: "Run attempts by how they ended",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: "threadline_worker_run_duration_seconds",
      help: "Duration of one run attempt, by outcome",
      labelNames: ["outcome"],
      buckets: seconds,
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: "threadline_worker_queue_wait_seconds",
      help: "From enqueue to the start of the first attempt",
      buckets: seconds,
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "threadline_worker_time_to_first_token_seconds",
      help: "From the start of an attempt to its first token event being published",
      buckets: seconds,
      registers: [registry],
    }),
    events: new Counter({
      name: "threadline_worker_events_published_total",
      help: "Events published (after token coalescing), by type",
      labelNames: ["type"],
      registers: [registry],
    }),
    activeRuns: new Gauge({
      name: "threadline_worker_active_runs",
      help: "Runs this worker is executing now",
      registers: [registry],
    }),
  };
  new Gauge({
    name: "threadline_worker_queue_jobs",
    help: "Jobs on the runs queue by state (sampled from Redis at scrape time)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const counts = await sampleQueue();
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  for (const outcome of JOB_OUTCOMES) metrics.jobs.inc({ outcome }, 0);
  return metrics;
}
