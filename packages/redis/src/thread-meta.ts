import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

export interface ThreadMeta {
  /**
   * Claims an unowned thread for `subject` and returns the owner (`subject`, or whoever claimed it
   * first). The claim and the meta key's expiry are one script: the key never lives without a TTL.
   */
  claimOwner(
    threadId: string,
    subject: string,
    claim: { createdAt: string; ttlSeconds: number },
  ): Promise<string>;
  /** The thread's owner, or null when nobody has claimed it (or it expired). */
  owner(threadId: string): Promise<string | null>;
  /**
   * The same claim, made by a new run's start in its own script (`RunLifecycle.start`): the start
   * goes ahead only when the owner is `requiredOwner` (absent: whoever owns it), else it is refused
   * with `ThreadOwnedError` and nothing but the claim ran.
   */
  claimForStart(subject: string, claim: { createdAt: string; requiredOwner?: string }): ThreadClaim;
}

/** A thread claim a run's start makes in the same script (lua/claimAndStart-5.lua). */
export interface ThreadClaim {
  claimant: string;
  createdAt: string;
  /** "1" when the archive follows threads (see claimThread-1.lua, ARGV[4]). */
  archiveFollows: "0" | "1";
  requiredOwner?: string;
}

/** A run's start was refused: its thread belongs to `owner`, not to the subject that was required. */
export class ThreadOwnedError extends Error {
  constructor(readonly owner: string) {
    super(`the thread belongs to ${owner}`);
    this.name = "ThreadOwnedError";
  }
}

/** Maps claimAndStart-5.lua's `FORBIDDEN <owner>` error reply to a ThreadOwnedError, or undefined. */
export function threadOwnedOf(error: unknown): ThreadOwnedError | undefined {
  const message = error instanceof Error ? error.message : "";
  return message.startsWith("FORBIDDEN ")
    ? new ThreadOwnedError(message.slice("FORBIDDEN ".length))
    : undefined;
}

/**
 * The thread meta hash `{thread:<id>}:meta`: `owner` and `createdAt` (claimed here), `lastRunId`
 * (written by the run lifecycle), and with the archive on `n`/`archivedN`: entries appended and
 * archived, so the publish script never trims what the archive lacks (lua/archiveProgress-2.lua).
 * `archiveFollows` (the archive is on) starts those counters at the claim.
 */
export function createThreadMeta(
  client: RedisClient,
  options: { archiveFollows?: boolean } = {},
): ThreadMeta {
  defineScripts(client);
  const archiveFollows = options.archiveFollows ? "1" : "0";
  return {
    claimOwner: (threadId, subject, { createdAt, ttlSeconds }) =>
      client.threadlineClaimThread(keys.threadMeta(threadId), subject, createdAt, ttlSeconds, archiveFollows),
    owner: (threadId) => client.hget(keys.threadMeta(threadId), "owner"),
    claimForStart: (subject, { createdAt, requiredOwner }) => ({
      claimant: subject,
      createdAt,
      archiveFollows,
      ...(requiredOwner === undefined ? {} : { requiredOwner }),
    }),
  };
}
