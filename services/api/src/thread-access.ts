import type { OwnerLookup } from "@threadline/archive";
import { type Claims, canRead } from "@threadline/auth";
import type { ThreadMeta } from "@threadline/redis";
import { forbidden } from "./errors.js";

/**
 * Thread ownership lives in the meta hash (packages/redis `threadMeta`). The first run of a thread
 * claims it for the caller's `sub` (atomically, so two concurrent first runs cannot both win, and with
 * the thread's TTL); afterwards only the owner, tokens that list the thread (or `*`) and admins may use
 * it. After the meta hash expired, `ownerOf` finds the owner in the archive: a thread the archive
 * remembers is given back to its owner, never to the next caller.
 */
export function createThreadAccess(
  meta: ThreadMeta,
  ownerOf: OwnerLookup,
  ttlSeconds: number,
  now: () => number = Date.now,
  /** True when `ownerOf` also asks the archive (an owner may outlive the meta hash). */
  ownerOutlivesMeta = true,
) {
  return {
    /** Claims an unowned thread for `claims.sub`, then checks access. Throws 403. */
    async claim(claims: Claims, threadId: string): Promise<void> {
      // Without the archive the meta hash is the only record of an owner, and the claim script
      // answers the owner it holds: one round trip instead of a read first (POST → first token).
      const claimant = ownerOutlivesMeta ? ((await ownerOf(threadId)) ?? claims.sub) : claims.sub;
      const owner = await meta.claimOwner(threadId, claimant, {
        createdAt: new Date(now()).toISOString(),
        ttlSeconds,
      });
      if (!canRead(claims, threadId, owner)) throw forbidden(threadId);
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
