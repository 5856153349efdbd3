/**
 * The one place every Redis key and channel name is built. The hash tag `{thread:<id>}` puts a
 * thread's log and meta in the same cluster slot as its channel `thread:<id>` (whose whole name
 * hashes to the same tag), so the publish script can touch all three on one shard.
 */
export const keys = {
  /** Pub/sub channel of a thread (PUBLISH, or SPUBLISH in cluster mode). */
  threadChannel: (threadId: string) => `thread:${threadId}`,
  /** Redis Stream: the thread's replay log. */
  threadLog: (threadId: string) => `{thread:${threadId}}:log`,
  /** Hash: owner, createdAt, lastRunId. */
  threadMeta: (threadId: string) => `{thread:${threadId}}:meta`,
  /** Sorted set of gateway watchers of a thread (member = stream id, score = expiry ms). */
  threadWatchers: (threadId: string) => `{thread:${threadId}}:watchers`,
  /**
   * Hash: a run's publish state, owned by the publish script (lua/publishEvent-3.lua): its seq counter,
   * the newest attempt (fencing), its `done` marker and the idempotency window. Expires with the log.
   */
  runPublishState: (threadId: string, runId: string) => `{thread:${threadId}}:pub:${runId}`,
  /**
   * Sorted set of external runs not yet ended (member `<threadId> <runId>`, score = creation ms): what
   * every API instance's silence check walks. One key for all threads: it is small (live runs only).
   */
  externalRuns: () => "threadline:external-runs",
  /** Control channel that carries cancel requests to whichever worker holds a run. */
  controlChannel: () => "threadline:control",
  /** Hash: one run's record (status, timestamps, attempts, output, error). */
  run: (threadId: string, runId: string) => `{thread:${threadId}}:run:${runId}`,
  /** Sorted set of a thread's run ids, scored by creation time. */
  threadRuns: (threadId: string) => `{thread:${threadId}}:runs`,
  /**
   * Sorted set of threads whose log has entries the archiver has not copied (member = thread id,
   * score = mark version). One key (one slot) on purpose: it is the archiver's work list, touched at
   * most every ARCHIVE_MARK_MS per publishing thread.
   */
  archiveDirty: () => "threadline:archive:dirty",
  /** Prefix of @fastify/rate-limit's counters (it appends `<METHOD><route>-<sub>`: one key per counter). */
  rateLimitPrefix: () => "ratelimit:",
} as const;

/** The channel prefix gateways subscribe under; kept in sync with `keys.threadChannel`. */
export const THREAD_CHANNEL_PREFIX = "thread:";
