import {
  type ArchiveFeed,
  compareIds,
  LOG_START,
  type RedisClient,
  readLogTail,
  scanThreadLogs,
} from "@threadline/redis";
import type { Logger } from "pino";
import type { ArchiveSql } from "./connect.js";
import { cursorOfRow } from "./log-id.js";

export interface ArchiveSweepDeps {
  sql: ArchiveSql;
  redis: RedisClient;
  feed: ArchiveFeed;
  log: Logger;
  /** ARCHIVE_SWEEP_MS: at most one sweep per this many ms across every archiver. */
  intervalMs: number;
  now?: () => number;
}

export interface SweepResult {
  /** Threads with a replay log. */
  scanned: number;
  /** Of those, the ones whose log ran ahead of the archive's cursor: now marked. */
  marked: number;
}

export interface ArchiveSweep {
  /** Sweeps when this process's interval is up and it wins the fleet-wide lease; else does nothing. */
  maybeSweep(): Promise<SweepResult | undefined>;
  sweep(): Promise<SweepResult>;
}

/**
 * The safety net behind the dirty list: producers that call the publish script themselves (the Python
 * SDK's RedisRunPublisher, any EVALSHA) mark nothing, so every ARCHIVE_SWEEP_MS one archiver walks the
 * replay logs (SCAN, each Cluster master), compares each log's newest id with the thread's archive
 * cursor, and marks the threads that ran ahead. Why not a mark inside the publish script: on a Cluster a
 * script may only touch its thread's slot, and the dirty list is one key in one slot.
 */
export function createArchiveSweep(deps: ArchiveSweepDeps): ArchiveSweep {
  const now = deps.now ?? Date.now;
  let next = 0;

  const sweep = async (): Promise<SweepResult> => {
    const result: SweepResult = { scanned: 0, marked: 0 };
    for await (const threadIds of scanThreadLogs(deps.redis)) {
      result.scanned += threadIds.length;
      const [tails, rows] = await Promise.all([
        Promise.all(threadIds.map((threadId) => readLogTail(deps.redis, threadId))),
        deps.sql`select thread_id, cursor_ms, cursor_n from threads where thread_id in ${deps.sql(threadIds)}`,
      ]);
      const cursors = new Map(rows.map((row) => [String(row.thread_id), cursorOfRow(row)]));
      threadIds.forEach((threadId, i) => {
        const tail = tails[i] ?? LOG_START;
        if (tail !== LOG_START && compareIds(tail, cursors.get(threadId) ?? LOG_START) > 0) {
          deps.feed.touch(threadId);
          result.marked += 1;
        }
      });
    }
    return result;
  };

  return {
    sweep,
    async maybeSweep() {
      if (now() < next) return undefined;
      next = now() + deps.intervalMs;
      if (!(await deps.feed.claimSweep(deps.intervalMs))) return undefined;
      const started = now();
      const result = await sweep();
      if (result.marked > 0) {
        deps.log.info({ ...result, ms: now() - started }, "archive sweep marked threads nobody had marked");
      }
      return result;
    },
  };
}
