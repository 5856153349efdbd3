import type { ThreadMeta } from "@threadline/redis";
import type { ArchiveReader } from "./archive-reader.js";

export type OwnerLookup = (threadId: string) => Promise<string | null>;

/**
 * A thread's owner: the meta hash while Redis has it, else the archive's record of it, so a thread
 * whose Redis keys expired (or were flushed) still belongs to its creator and to nobody else.
 */
export function createOwnerLookup(meta: ThreadMeta, archive: ArchiveReader | undefined): OwnerLookup {
  return async (threadId) => {
    const owner = await meta.owner(threadId);
    if (owner !== null || !archive) return owner;
    return (await archive.threadOwner(threadId)) ?? null;
  };
}
