import { RunStatus, type RunView } from "@threadline/protocol";
import { z } from "zod";
import type { ArchiveSql } from "./connect.js";
import { parseLogId } from "./log-id.js";

export interface ArchivedEntry {
  id: string;
  /** Byte-identical to what the gateway served live. */
  json: string;
  runId: string | null;
}

export interface ThreadSummary {
  threadId: string;
  owner: string | null;
  lastRunId: string | null;
  lastStatus: string | null;
  updatedAt: string;
  /** The last run's input prompt (or its JSON), cut to PREVIEW_CHARS. */
  preview: string | null;
}

const EventRow = z.object({ id: z.string(), json: z.string(), run_id: z.string().nullable() });
const iso = z.union([z.date(), z.string()]).transform((v) => new Date(v).toISOString());
const RunRow = z.object({
  run_id: z.string(),
  thread_id: z.string(),
  agent: z.string(),
  status: RunStatus,
  created_at: iso,
  started_at: iso.nullable(),
  finished_at: iso.nullable(),
  attempts: z.number(),
  input: z.record(z.string(), z.unknown()).nullable(),
  output: z.unknown(),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  archived_at: iso.nullable(),
});
const ThreadRow = z.object({
  thread_id: z.string(),
  owner: z.string().nullable(),
  last_run_id: z.string().nullable(),
  last_status: z.string().nullable(),
  updated_at: iso,
  input: z.record(z.string(), z.unknown()).nullable(),
});
const PREVIEW_CHARS = 120;

/** Read access to the archive (gateway and API). Rows are validated before they leave. */
export function createArchiveReader(sql: ArchiveSql) {
  return {
    /** The JSON of one archived event of the thread, or undefined. */
    async eventJson(threadId: string, id: string): Promise<string | undefined> {
      const p = parseLogId(id);
      const [row] =
        await sql`select json from events where thread_id = ${threadId} and id_ms = ${p.ms} and id_n = ${p.n}`;
      return row ? z.string().parse(row.json) : undefined;
    },

    /** Up to `limit` events after `after` ("0" = from the start), in log order. */
    async readEvents(threadId: string, after: string, limit: number): Promise<ArchivedEntry[]> {
      const p = parseLogId(after);
      const rows = await sql`
        select id, json, run_id from events
        where thread_id = ${threadId} and (id_ms, id_n) > (${p.ms}, ${p.n})
        order by id_ms, id_n limit ${limit}`;
      return rows.map((r) => toEntry(EventRow.parse(r)));
    },

    /** Every archived event of the given runs, in log order. */
    async runEvents(threadId: string, runIds: string[]): Promise<ArchivedEntry[]> {
      if (runIds.length === 0) return [];
      const rows = await sql`
        select id, json, run_id from events
        where thread_id = ${threadId} and run_id in ${sql(runIds)} order by id_ms, id_n`;
      return rows.map((r) => toEntry(EventRow.parse(r)));
    },

    async getRun(threadId: string, runId: string): Promise<RunView | undefined> {
      const [row] = await sql`select * from runs where thread_id = ${threadId} and run_id = ${runId}`;
      return row ? toRunView(RunRow.parse(row)) : undefined;
    },

    /** Newest first; `before` (a createdAt) pages further back. */
    async listRuns(threadId: string, limit: number, before?: string): Promise<RunView[]> {
      const rows = await sql`
        select * from runs where thread_id = ${threadId}
          ${before ? sql`and created_at < ${before}` : sql``}
        order by created_at desc, run_id desc limit ${limit}`;
      return rows.map((r) => toRunView(RunRow.parse(r)));
    },

    async threadOwner(threadId: string): Promise<string | null | undefined> {
      const [row] = await sql`select owner from threads where thread_id = ${threadId}`;
      return row ? z.string().nullable().parse(row.owner) : undefined;
    },

    /**
     * A subject's threads, most recently active first. `cursor` is the last page's
     * `(updatedAt, threadId)`, so a thread updated while paging is never listed twice on one page.
     */
    async listThreads(
      owner: string | undefined,
      limit: number,
      cursor?: { updatedAt: string; threadId: string },
    ): Promise<ThreadSummary[]> {
      const rows = await sql`
        select t.thread_id, t.owner, t.last_run_id, r.status as last_status, t.updated_at, r.input
        from threads t
        left join runs r on r.thread_id = t.thread_id and r.run_id = t.last_run_id
        where true
          ${owner === undefined ? sql`` : sql`and t.owner = ${owner}`}
          ${cursor ? sql`and (t.updated_at, t.thread_id) < (${cursor.updatedAt}, ${cursor.threadId})` : sql``}
        order by t.updated_at desc, t.thread_id desc limit ${limit}`;
      return rows.map((r) => {
        const row = ThreadRow.parse(r);
        return {
          threadId: row.thread_id,
          owner: row.owner,
          lastRunId: row.last_run_id,
          lastStatus: row.last_status,
          updatedAt: row.updated_at,
          preview: preview(row.input),
        };
      });
    },
  };
}

export type ArchiveReader = ReturnType<typeof createArchiveReader>;

function toEntry(row: z.infer<typeof EventRow>): ArchivedEntry {
  return { id: row.id, json: row.json, runId: row.run_id };
}

function toRunView(row: z.infer<typeof RunRow>): RunView {
  return {
    runId: row.run_id,
    threadId: row.thread_id,
    agent: row.agent,
    status: row.status,
    createdAt: row.created_at,
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    attempts: row.attempts,
    ...(row.output === null || row.output === undefined ? {} : { output: row.output }),
    ...(row.error ? { error: row.error } : {}),
    ...(row.metadata ? { metadata: row.metadata } : {}),
    ...(row.input ? { input: row.input } : {}),
    ...(row.archived_at ? { archivedAt: row.archived_at } : {}),
  };
}

function preview(input: Record<string, unknown> | null): string | null {
  if (!input) return null;
  const text = typeof input.prompt === "string" ? input.prompt : JSON.stringify(input);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}
