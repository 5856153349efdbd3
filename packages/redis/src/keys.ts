import { CHANNEL_PREFIX } from "@threadline/protocol";

/**
 * The one place every Redis key and channel name is built. The prefix `thread:` itself is part of the
 * wire contract (packages/protocol reads thread ids back out of channel names), so it comes from there.
 * The hash tag `{thread:<id>}` puts every key of a thread (log, meta, watchers, run records and publish
 * states, runs index) in the same cluster slot as its channel `thread:<id>` (whose whole name hashes to
 * the same tag), so one script can touch them all on one shard.
 */
const tag = (threadId: string) => `{${CHANNEL_PREFIX}${threadId}}`;

export const keys = {
  /** Pub/sub channel of a thread (PUBLISH, or SPUBLISH in cluster mode). */
  threadChannel: (threadId: string) => `${CHANNEL_PREFIX}${threadId}`,
  /** Redis Stream: the thread's replay log. */
  threadLog: (threadId: string) => `${tag(threadId)}:log`,
  /** Hash: owner, createdAt, lastRunId; `n`/`archivedN` while the archive follows the thread. */
  threadMeta: (threadId: string) => `${tag(threadId)}:meta`,
  /** Sorted set of gateway watchers of a thread (member = stream id, score = expiry ms). */
  threadWatchers: (threadId: string) => `${tag(threadId)}:watchers`,
  /**
   * Hash: a run's publish state, owned by the publish script (lua/publishEvent-3.lua): its seq counter,
   * the newest attempt (fencing), its `done` marker and the idempotency window. Expires with the log.
   */
  runPublishState: (threadId: string, runId: string) => `${tag(threadId)}:pub:${runId}`,
  /**
   * Sorted set of external runs not yet ended (member `<threadId> <runId>`, score = creation ms): what
   * every API instance's silence check walks. One key for all threads: it is small (live runs only).
   */
  externalRuns: () => "threadline:external-runs",
  /** Control channel that carries cancel requests to whichever worker holds a run. */
  controlChannel: () => "threadline:control",
  /** Hash: one run's record (status, timestamps, attempts, output, error). */
  run: (threadId: string, runId: string) => `${tag(threadId)}:run:${runId}`,
  /** Sorted set of a thread's run ids, scored by creation time (capped: RUNS_INDEX_CAP newest). */
  threadRuns: (threadId: string) => `${tag(threadId)}:runs`,
  /**
   * Sorted set of threads whose log has entries the archiver has not copied (member = thread id,
   * score = mark version). One key (one slot) on purpose: it is the archiver's work list, touched at
   * most every ARCHIVE_MARK_MS per publishing thread.
   */
  archiveDirty: () => "threadline:archive:dirty",
  /** String with a PX expiry: the fleet-wide lease of the archive sweep (one sweep per ARCHIVE_SWEEP_MS). */
  archiveSweepLease: () => "threadline:archive:sweep",
  /** SCAN pattern of every thread's replay log (`threadLog`); `threadIdOfLog` reads the id back. */
  threadLogPattern: () => `${tag("*")}:log`,
  /** Counter of refused admin logins from one client address, expiring with its window (login-throttle.ts). */
  adminLoginFailures: (address: string) => `threadline:admin-login-failures:${address}`,
  /** Prefix of @fastify/rate-limit's counters (it appends `<METHOD><route>-<sub>`: one key per counter). */
  rateLimitPrefix: () => "ratelimit:",
} as const;

/** The thread id of a `threadLog` key, or undefined for any other key. */
export function threadIdOfLog(key: string): string | undefined {
  const head = `{${CHANNEL_PREFIX}`;
  const tail = "}:log";
  return key.startsWith(head) && key.endsWith(tail) && key.length > head.length + tail.length
    ? key.slice(head.length, -tail.length)
    : undefined;
}
