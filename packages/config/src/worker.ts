import type { CommonConfig } from "./common.js";
import { loadWith } from "./common.js";
import { int } from "./fields.js";
import type { Env } from "./load-config.js";
import { buildProvidersConfig, type ProvidersConfig, providersEnv } from "./providers.js";

export interface WorkerConfig extends CommonConfig {
  concurrency: number;
  /** Must be the same on every worker: BullMQ throttles the stalled check queue-wide. */
  stalledIntervalMs: number;
  lockDurationMs: number;
  maxStalledCount: number;
  graceMs: number;
  tokenCoalesceMs: number;
  /**
   * The archiver every worker runs when the archive is on: entries per transaction, idle poll, and how
   * often (fleet-wide) the sweep looks for threads nobody marked (0 = never).
   */
  archiver: { batchSize: number; pollMs: number; sweepMs: number };
  /** What a run receives of its thread's earlier turns (MEMORY_MAX_TURNS=0 turns memory off). */
  memory: { maxTurns: number; maxChars: number };
  /** LLM agents (Anthropic, OpenAI-compatible): keys, models, max steps, price table. */
  providers: ProvidersConfig;
}

/** The worker listens only for /healthz, /readyz and /metrics (default port 3002). */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const { common, parsed } = loadWith(env, 3002, {
    WORKER_CONCURRENCY: int(1, 10_000, 8),
    STALLED_INTERVAL_MS: int(100, 3_600_000, 30_000),
    LOCK_DURATION_MS: int(100, 3_600_000, 30_000),
    MAX_STALLED_COUNT: int(0, 100, 1),
    WORKER_GRACE_MS: int(0, 600_000, 8_000),
    TOKEN_COALESCE_MS: int(0, 10_000, 5),
    ARCHIVE_BATCH_SIZE: int(1, 10_000, 500),
    ARCHIVE_POLL_MS: int(10, 60_000, 200),
    ARCHIVE_SWEEP_MS: int(0, 3_600_000, 5_000),
    MEMORY_MAX_TURNS: int(0, 500, 20),
    MEMORY_MAX_CHARS: int(0, 1_000_000, 20_000),
    ...providersEnv,
  });
  return {
    ...common,
    concurrency: parsed.WORKER_CONCURRENCY,
    stalledIntervalMs: parsed.STALLED_INTERVAL_MS,
    lockDurationMs: parsed.LOCK_DURATION_MS,
    maxStalledCount: parsed.MAX_STALLED_COUNT,
    graceMs: parsed.WORKER_GRACE_MS,
    tokenCoalesceMs: parsed.TOKEN_COALESCE_MS,
    archiver: {
      batchSize: parsed.ARCHIVE_BATCH_SIZE,
      pollMs: parsed.ARCHIVE_POLL_MS,
      sweepMs: parsed.ARCHIVE_SWEEP_MS,
    },
    memory: { maxTurns: parsed.MEMORY_MAX_TURNS, maxChars: parsed.MEMORY_MAX_CHARS },
    providers: buildProvidersConfig(parsed),
  };
}
