import {
  compareIds,
  LOG_START,
  type LogEntry,
  type LogPage,
  type RedisClient,
  readLogAfter,
} from "@threadline/redis";
import type { ArchiveReader } from "./archive-reader.js";

/** A page of the merged log; `anchor` is the JSON of the entry at the position read after. */
export interface MergedPage extends LogPage {
  anchor?: string;
}

export type ReadPage = (threadId: string, afterId: string, limit: number) => Promise<MergedPage>;

/**
 * A thread's log as one sequence: the archive for whatever Redis no longer holds, then Redis. Same
 * contract as `readLogAfter`: entries after `afterId` in log order, `truncated` when the position
 * is in neither (the page then starts at the oldest event either holds). Without an archive it is
 * the Redis log alone.
 */
export function createMergedLog(redis: RedisClient, archive: ArchiveReader | undefined): ReadPage {
  const hotRead = async (threadId: string, afterId: string, limit: number): Promise<MergedPage> => {
    const { page, anchor } = await readLogAfter(redis, threadId, afterId, limit);
    return anchor === undefined ? page : { ...page, anchor };
  };
  if (!archive) return hotRead;
  return async (threadId, afterId, limit) => {
    let after = afterId === "0-0" ? LOG_START : afterId;
    let truncated = false;
    let anchor: string | undefined;
    if (after !== LOG_START) {
      const hot = await hotRead(threadId, after, limit);
      if (!hot.truncated) return hot;
      anchor = await archive.eventJson(threadId, after);
      if (anchor === undefined) {
        truncated = true;
        after = LOG_START;
      }
    }
    const cold = await archive.readEvents(threadId, after, limit + 1);
    const withAnchor = (page: LogPage): MergedPage => (anchor === undefined ? page : { ...page, anchor });
    if (cold.length > limit) {
      return withAnchor({ entries: cold.slice(0, limit).map(strip), truncated, more: true });
    }
    const lastCold = cold.at(-1)?.id ?? after;
    const hot = await readLogAfter(redis, threadId, lastCold, limit - cold.length);
    const newer = hot.page.entries.filter((e) => lastCold === LOG_START || compareIds(e.id, lastCold) > 0);
    // Redis lost the archive's last entry yet holds newer ones: what lay between may be in neither.
    // Only a reader who gave a position is owed that warning; `after=0` asks for what is retained.
    const gap = afterId !== LOG_START && hot.page.truncated && lastCold !== LOG_START && newer.length > 0;
    return withAnchor({
      entries: [...cold.map(strip), ...newer],
      truncated: truncated || gap,
      more: hot.page.more,
    });
  };
}

function strip(entry: { id: string; json: string }): LogEntry {
  return { id: entry.id, json: entry.json };
}
