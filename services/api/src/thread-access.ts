import type { OwnerLookup } from "@threadline/archive";
import { type Claims, canRead } from "@threadline/auth";
import type { ThreadClaim, ThreadMeta } from "@threadline/redis";
import { forbidden } from "./errors.js";

/**
 * Thread ownership lives in the meta hash (packages/redis `threadMeta`). The first run of a thread
 * claims it for the caller's `sub` (atomically, so two concurrent first runs cannot both win, with the
 * thread's TTL, and in the same script as the run's start); afterwards only the owner, tokens that list the thread (or `*`) and admins may use
 * it. After the meta hash expired, `ownerOf` finds the owner in the archive: a thread the archive
 * remembers is given back to its owner, never to the next caller.
 */
export function createThreadAccess(
  meta: ThreadMeta,
  ownerOf: OwnerLookup,
  now: () => number = Date.now,
  /** True when `ownerOf` also asks the archive (an owner may outlive the meta hash). */
  ownerOutlivesMeta = true,
) {
  return {
    /**
     * The claim a new run makes in its start's own script (RunLifecycle.start): an unowned thread
     * becomes `claims.sub`'s, and the start is refused (ThreadOwnedError, a 403) when the owner is
     * someone else and the token does not grant the thread anyway (admin, or it lists the thread).
     */
    async claimForStart(claims: Claims, threadId: string): Promise<ThreadClaim> {
      // Without the archive the meta hash is the only record of an owner, and the claim answers the
      // owner it holds: no read first (POST → first token). With it, an owner Redis forgot is given
      // back its thread, never the caller.
      const claimant = ownerOutlivesMeta ? ((await ownerOf(threadId)) ?? claims.sub) : claims.sub;
      const anyOwner = canRead(claims, threadId, undefined);
      return meta.claimForStart(claimant, {
        createdAt: new Date(now()).toISOString(),
        ...(anyOwner ? {} : { requiredOwner: claims.sub }),
      });
    },
    /** The thread's owner (meta hash, else the archive), or null. */
    owner: (threadId: string) => ownerOf(threadId),
    /** Checks that `claims` may read the thread. Throws 403. */
    async check(claims: Claims, threadId: string): Promise<void> {
      if (canRead(claims, threadId, undefined)) return;
      const owner = await ownerOf(threadId);
      if (!canRead(claims, threadId, owner)) throw forbidden(threadId);
    },
  };
}

export type ThreadAccess = ReturnType<typeof createThreadAccess>;
