import type { RunView } from "@threadline/protocol";
import {
  compareIds,
  keys,
  type RedisClient,
  type RunRecords,
  readLog,
  recordArchiveProgress,
} from "@threadline/redis";
import { z } from "zod";
import type { ArchiveSql, ArchiveTx } from "./connect.js";
import { type EventHeader, parseEventHeader } from "./event-header.js";
import { cursorOfRow, parseLogId, THREAD_LOCK_CLASS } from "./log-id.js";
import { foldRunProgress, type RunProgress } from "./run-progress.js";

export interface CopyResult {
  /** Another archiver holds the thread: leave it marked, it is being copied. */
  busy: boolean;
  copied: number;
  /** Runs whose `done` this call archived, each with every one of its events. */
  finishedRuns: string[];
  /** Runs whose `done` this call copied but whose earlier events the log lost: never `archivedAt`. */
  incompleteRuns: { runId: string; missing: number }[];
  /** True when the log no longer held the archive's cursor: entries were lost before copying. */
  gap: boolean;
}

const empty = (): CopyResult => ({
  busy: false,
  copied: 0,
  finishedRuns: [],
  incompleteRuns: [],
  gap: false,
});
const SeqCount = z.object({ held: z.number(), top: z.number() });

export interface ArchiveWriterDeps {
  sql: ArchiveSql;
  redis: RedisClient;
  runs: RunRecords;
  /** Entries per transaction. */
  batchSize: number;
  now?: () => number;
}

/**
 * Copies a thread's replay log into the archive from the thread's cursor, one transaction per batch:
 * events, run rows, thread row and the new cursor commit together, so a process killed at any point
 * resumes exactly where the last commit left off. Inserts ignore event ids already present, so even
 * two copies of the same batch leave one row each.
 */
export function createArchiveWriter(deps: ArchiveWriterDeps) {
  const now = deps.now ?? Date.now;

  async function copyBatch(threadId: string): Promise<CopyResult & { more: boolean; cursor: string }> {
    return deps.sql.begin(async (tx) => {
      const [lock] =
        await tx`select pg_try_advisory_xact_lock(${THREAD_LOCK_CLASS}, hashtext(${threadId})) as ok`;
      if (!lock?.ok) return { ...empty(), busy: true, more: false, cursor: "0" };
      const [row] = await tx`select cursor_ms, cursor_n from threads where thread_id = ${threadId}`;
      const cursor = row ? cursorOfRow(row) : "0";
      const page = await readLog(deps.redis, threadId, cursor, deps.batchSize);
      const entries = page.entries.filter((e) => cursor === "0" || compareIds(e.id, cursor) > 0);
      const result = {
        ...empty(),
        gap: page.truncated,
        more: page.more,
        cursor: entries.at(-1)?.id ?? cursor,
      };
      if (entries.length === 0) return result;

      const parsed = entries.map((e) => ({ entry: e, header: parseEventHeader(e.json) }));
      const headers = parsed.map((p) => p.header).filter((h): h is EventHeader => h !== undefined);
      const last = parseLogId(entries[entries.length - 1]?.id ?? cursor);
      const meta = await deps.redis.hgetall(keys.threadMeta(threadId));
      const firstTs = headers[0]?.ts ?? now();
      const lastTs = headers[headers.length - 1]?.ts ?? now();
      const createdAt = meta.createdAt ?? new Date(firstTs).toISOString();
      await tx`
        insert into threads (thread_id, owner, created_at, updated_at, last_run_id, cursor_ms, cursor_n)
        values (${threadId}, ${meta.owner ?? null}, ${createdAt}, ${new Date(lastTs)},
                ${meta.lastRunId ?? null}, ${last.ms}, ${last.n})
        on conflict (thread_id) do update set
          owner = coalesce(threads.owner, excluded.owner),
          updated_at = greatest(threads.updated_at, excluded.updated_at),
          last_run_id = coalesce(excluded.last_run_id, threads.last_run_id),
          cursor_ms = excluded.cursor_ms,
          cursor_n = excluded.cursor_n`;

      // Column arrays through unnest: one statement text whatever the batch size (prepared once per
      // connection, where a multi-row VALUES list is a new statement, parsed and planned, per size)
      // and 8 parameters instead of 8 per row.
      const ids = parsed.map(({ entry }) => parseLogId(entry.id));
      const column = (pick: (p: (typeof parsed)[number], i: number) => string | number | null) =>
        tx.array(parsed.map(pick));
      const inserted = await tx`
        insert into events (thread_id, id_ms, id_n, id, seq, run_id, type, ts, json)
        select ${threadId}, * from unnest(
          ${column((_, i) => ids[i]?.ms ?? 0)}::bigint[],
          ${column((_, i) => ids[i]?.n ?? 0)}::bigint[],
          ${column(({ entry }) => entry.id)}::text[],
          ${column(({ header }) => header?.seq ?? null)}::integer[],
          ${column(({ header }) => header?.runId ?? null)}::text[],
          ${column(({ header }) => header?.type ?? "unknown")}::text[],
          ${column(({ header }) => header?.ts ?? 0)}::bigint[],
          ${column(({ entry }) => entry.json)}::text[]
        )
        on conflict do nothing`;
      result.copied = inserted.count;

      // After the events: a run is archived only when the archive holds every seq up to its `done`.
      for (const run of foldRunProgress(headers).values()) {
        const missing = run.done ? await missingSeqs(tx, threadId, run.runId) : 0;
        const archived = run.done && missing === 0;
        await upsertRun(tx, threadId, run, archived, await deps.runs.get(threadId, run.runId));
        if (archived) result.finishedRuns.push(run.runId);
        else if (run.done) result.incompleteRuns.push({ runId: run.runId, missing });
      }
      return result;
    });
  }

  /** How many of the run's seqs (1..its highest, gap-free as published) the archive lacks. */
  async function missingSeqs(tx: ArchiveTx, threadId: string, runId: string): Promise<number> {
    const [row] = await tx`
      select count(*)::int as held, coalesce(max(seq), 0)::int as top
      from events where thread_id = ${threadId} and run_id = ${runId} and seq is not null`;
    const { held, top } = SeqCount.parse(row);
    return top - held;
  }

  async function upsertRun(
    tx: ArchiveTx,
    threadId: string,
    run: RunProgress,
    archived: boolean,
    record: RunView | undefined,
  ): Promise<void> {
    const json = (v: unknown) => (v === undefined ? null : tx.json(v as never));
    const finishedAt = run.finishedAt !== undefined ? new Date(run.finishedAt) : (record?.finishedAt ?? null);
    await tx`
      insert into runs (thread_id, run_id, agent, status, created_at, started_at, finished_at, attempts,
                        input, output, error, metadata, archived_at)
      values (${threadId}, ${run.runId}, ${record?.agent ?? "unknown"}, ${run.status ?? record?.status ?? "queued"},
              ${record?.createdAt ?? new Date(run.firstTs)}, ${record?.startedAt ?? null}, ${finishedAt},
              ${Math.max(run.attempts ?? 0, record?.attempts ?? 0)}, ${json(record?.input)},
              ${json(run.output ?? record?.output)}, ${json(run.error ?? record?.error)},
              ${json(record?.metadata)}, ${archived ? new Date(now()) : null})
      on conflict (thread_id, run_id) do update set
        agent = case when runs.agent = 'unknown' then excluded.agent else runs.agent end,
        status = case when runs.archived_at is null then excluded.status else runs.status end,
        started_at = coalesce(runs.started_at, excluded.started_at),
        finished_at = coalesce(excluded.finished_at, runs.finished_at),
        attempts = greatest(runs.attempts, excluded.attempts),
        input = coalesce(runs.input, excluded.input),
        output = coalesce(excluded.output, runs.output),
        error = coalesce(excluded.error, runs.error),
        metadata = coalesce(runs.metadata, excluded.metadata),
        archived_at = coalesce(runs.archived_at, excluded.archived_at)`;
  }

  return {
    /**
     * Copies everything the log holds past the cursor, batch after batch. `busy` when another
     * archiver holds the thread's lock.
     */
    async copyThread(threadId: string): Promise<CopyResult> {
      const total = empty();
      for (;;) {
        const batch = await copyBatch(threadId);
        total.busy ||= batch.busy;
        total.copied += batch.copied;
        total.gap ||= batch.gap;
        total.finishedRuns.push(...batch.finishedRuns);
        total.incompleteRuns.push(...batch.incompleteRuns);
        if (batch.busy) break;
        // Committed: the log may now trim what this batch archived (and keeps the rest).
        await recordArchiveProgress(deps.redis, threadId, batch.cursor);
        if (!batch.more) break;
      }
      const archivedAt = new Date(now()).toISOString();
      for (const runId of total.finishedRuns) await deps.runs.markArchived(threadId, runId, archivedAt);
      return total;
    },
  };
}

export type ArchiveWriter = ReturnType<typeof createArchiveWriter>;
