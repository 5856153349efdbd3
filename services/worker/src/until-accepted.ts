import { PublishRefusedError } from "@threadline/redis";

export interface UntilAcceptedOptions {
  /** Checked before each retry: true rethrows the last error (the job is being handed back). */
  giveUp(): boolean;
  /** Each refused try (first, then every 20th), for the log. */
  onRetry(error: unknown, tries: number): void;
  /**
   * Backoff from `minDelayMs`, doubling up to `maxDelayMs` (defaults 50 ms, 200 ms): a refused try
   * costs Redis next to nothing, and the sooner the failure is in once Redis takes writes again,
   * the likelier it is that this attempt, not a successor that took the stalled job over, tells
   * the clients why it stopped.
   */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs one of a run's final transitions until Redis accepts it. A Redis that refuses writes for a
 * while (`maxmemory` with noeviction answers OOM; an outage makes the offline queue give up) must
 * not strand the run `running` with its clients waiting forever for a `done`. Transitions are keyed,
 * so a try that landed before its reply was lost is a no-op the next time. A refusal by the publish
 * script (a newer attempt owns the run, the run ended, an invalid event) is final: rethrown at once.
 */
export async function untilAccepted<T>(write: () => Promise<T>, options: UntilAcceptedOptions): Promise<T> {
  const min = options.minDelayMs ?? 50;
  const max = options.maxDelayMs ?? 200;
  for (let tries = 1; ; tries++) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof PublishRefusedError || options.giveUp()) throw error;
      if (tries === 1 || tries % 20 === 0) options.onRetry(error, tries);
      await new Promise((resolve) => setTimeout(resolve, Math.min(max, min * 2 ** (tries - 1))));
      if (options.giveUp()) throw error;
    }
  }
}
