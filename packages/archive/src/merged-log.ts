import {
  compareIds,
  LOG_START,
  type LogEntry,
  type LogPage,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import type { ArchiveReader } from "./archive-reader.js";

export type ReadPage = (threadId: string, afterId: string, limit: number) => Promise<LogPage>;

/**
 * A thread's log as one sequence: the archive for whatever Redis no longer holds, then Redis. Same
 * contract as `readLog`: entries after `afterId` in log order, `truncated` when the position is in
 * neither (the page then starts at the oldest event either holds). Without an archive it is
 * `readLog`.
 */
export function createMergedLog(redis: RedisClient, archive: ArchiveReader | undefined): ReadPage {
  if (!archive) return (threadId, afterId, limit) => readLog(redis, threadId, afterId, limit);
  return async (threadId, afterId, limit) => {
    let after = afterId === "0-0" ? LOG_START : afterId;
    let truncated = false;
    if (after !== LOG_START) {
      const hot = await readLog(redis, threadId, after, limit);
      if (!hot.truncated) return hot;
      if (!(await archive.hasEvent(threadId, after))) {
        truncated = true;
        after = LOG_START;
      }
    }
    const cold = await archive.readEvents(threadId, after, limit + 1);
    if (cold.length > limit) return { entries: cold.slice(0, limit).map(strip), truncated, more: true };
    const lastCold = cold.at(-1)?.id ?? after;
    const hot = await readLog(redis, threadId, lastCold, limit - cold.length);
    const newer = hot.entries.filter((e) => lastCold === LOG_START || compareIds(e.id, lastCold) > 0);
    // Redis lost the archive's last entry yet holds newer ones: what lay between may be in neither.
    // Only a reader who gave a position is owed that warning; `after=0` asks for what is retained.
    const gap = afterId !== LOG_START && hot.truncated && lastCold !== LOG_START && newer.length > 0;
    return { entries: [...cold.map(strip), ...newer], truncated: truncated || gap, more: hot.more };
  };
}

function strip(entry: { id: string; json: string }): LogEntry {
  return { id: entry.id, json: entry.json };
}
