import type { ArchiveSql } from "./connect.js";
import { THREAD_LOCK_CLASS } from "./log-id.js";

/**
 * Deletes a thread's archive rows (thread, runs, events). Waits for the thread's advisory lock, so an
 * archiver copying it finishes first and its rows go too. Returns the events deleted.
 */
export async function deleteArchivedThread(sql: ArchiveSql, threadId: string): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${THREAD_LOCK_CLASS}, hashtext(${threadId}))`;
    const events = await tx`delete from events where thread_id = ${threadId}`;
    await tx`delete from runs where thread_id = ${threadId}`;
    await tx`delete from threads where thread_id = ${threadId}`;
    return events.count;
  });
}

/** ARCHIVE_RETENTION_DAYS: deletes threads idle longer than `days`; returns how many. */
export async function purgeIdleThreads(
  sql: ArchiveSql,
  days: number,
  now: number = Date.now(),
): Promise<number> {
  const cutoff = new Date(now - days * 86_400_000);
  const idle = await sql`select thread_id from threads where updated_at < ${cutoff} limit 1000`;
  for (const row of idle) await deleteArchivedThread(sql, String(row.thread_id));
  return idle.length;
}
