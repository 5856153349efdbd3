import type { BackoffStrategy } from "bullmq";

/** The backoff type the API enqueues runs with; every worker registers `runBackoffStrategy` for it. */
export const RUN_BACKOFF_TYPE = "run";

/** A provider asking for longer than this is not waited for beyond it. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Delay before the next attempt of a run: the provider's `retry-after` when the failed attempt
 * carried one (`retryAfterMs` on the thrown error, e.g. an AgentError from a 429), else exponential
 * from the job's `backoff.delay` (1 s by default), like BullMQ's `exponential`.
 */
export const runBackoffStrategy: BackoffStrategy = (attemptsMade, _type, err, job) => {
  const retryAfter = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter >= 0) {
    return Math.min(Math.ceil(retryAfter), MAX_RETRY_AFTER_MS);
  }
  const backoff = job?.opts.backoff;
  const delay = typeof backoff === "object" && typeof backoff.delay === "number" ? backoff.delay : 1_000;
  return Math.round(2 ** Math.max(0, attemptsMade - 1) * delay);
};
