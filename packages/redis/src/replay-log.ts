import { isCluster, type RedisClient } from "./connections.js";
import { keys, threadIdOfLog } from "./keys.js";
import { spliceId } from "./splice.js";

export interface LogEntry {
  id: string;
  /** The event JSON with `id` spliced in, byte-identical to what was published live. */
  json: string;
}

export interface LogPage {
  entries: LogEntry[];
  /**
   * True when `afterId` is not in the log (trimmed, expired, lost in a Redis restart, or never
   * there): events may have been missed and the reader must be told (`REPLAY_TRUNCATED`).
   */
  truncated: boolean;
  /** True when more entries follow the page. */
  more: boolean;
}

/** The "everything retained" position: `after=0`. */
export const LOG_START = "0";

/**
 * Reads up to `limit` entries after `afterId` ("0" = from the start). One XRANGE, inclusive of
 * `afterId`, tells in the same atomic read whether the position still exists; when it does not, the
 * page starts at the oldest retained entry and is flagged `truncated`.
 */
export async function readLog(
  client: RedisClient,
  threadId: string,
  afterId: string,
  limit: number,
): Promise<LogPage> {
  return (await readLogAfter(client, threadId, afterId, limit)).page;
}

/** A page of the log, and the entry AT the position read after (when it is in the log). */
export interface AnchoredLogPage {
  page: LogPage;
  /**
   * The JSON (id spliced in) of the entry at `afterId`: lets a reader check that a position it was
   * handed live is what the log really holds there (a hand-published, forged id is not).
   */
  anchor: string | undefined;
}

/** `readLog`, plus the entry at `afterId` from the same XRANGE. */
export async function readLogAfter(
  client: RedisClient,
  threadId: string,
  afterId: string,
  limit: number,
): Promise<AnchoredLogPage> {
  const key = keys.threadLog(threadId);
  if (afterId === LOG_START || afterId === "0-0") {
    const rows = await client.xrange(key, "-", "+", "COUNT", limit + 1);
    return { page: page(rows, limit, false), anchor: undefined };
  }
  const rows = await client.xrange(key, afterId, "+", "COUNT", limit + 2);
  const first = rows[0];
  if (first?.[0] === afterId) {
    return {
      page: page(rows.slice(1), limit, false),
      anchor: spliceId(afterId, fieldValue(first[1], "e")),
    };
  }
  // The position is gone: hand back everything retained, flagged, so the gap is never silent.
  return {
    page: page(await client.xrange(key, "-", "+", "COUNT", limit + 1), limit, true),
    anchor: undefined,
  };
}

/**
 * The id of a thread's newest log entry, or LOG_START when the log is empty. A live-only stream reads
 * it BEFORE subscribing: everything it will receive live is newer, and after a subscriber reconnect it
 * backfills from here (or from the last id it delivered).
 */
export async function readLogTail(client: RedisClient, threadId: string): Promise<string> {
  const rows = await client.xrevrange(keys.threadLog(threadId), "+", "-", "COUNT", 1);
  return rows[0]?.[0] ?? LOG_START;
}

/**
 * Every thread that has a replay log, a SCAN page at a time (on each master of a Cluster). A full walk
 * of the keyspace: for sweeps (the archive's), never for a request.
 */
export async function* scanThreadLogs(client: RedisClient, count = 1_000): AsyncGenerator<string[]> {
  const nodes = isCluster(client) ? client.nodes("master") : [client];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(
        cursor,
        "MATCH",
        keys.threadLogPattern(),
        "COUNT",
        count,
        "TYPE",
        "stream",
      );
      cursor = next;
      const threadIds = found.map(threadIdOfLog).filter((id): id is string => id !== undefined);
      if (threadIds.length > 0) yield threadIds;
    } while (cursor !== "0");
  }
}

/**
 * The entries after `afterId`, waiting up to `blockMs` for the first one to be appended (XREAD BLOCK);
 * empty when none came in time. Entries trimmed meanwhile are simply not there: callers that must not
 * miss any read from a position they just got. It blocks its connection: give it one of its own.
 */
export async function waitForLogEntries(
  client: RedisClient,
  threadId: string,
  afterId: string,
  options: { blockMs: number; limit: number },
): Promise<LogEntry[]> {
  const reply = (await client.xread(
    "COUNT",
    options.limit,
    "BLOCK",
    Math.max(1, Math.floor(options.blockMs)),
    "STREAMS",
    keys.threadLog(threadId),
    afterId,
  )) as [key: string, rows: [id: string, fields: string[]][]][] | null;
  const rows = reply?.[0]?.[1] ?? [];
  return rows.map(([id, fields]) => ({ id, json: spliceId(id, fieldValue(fields, "e")) }));
}

/** One log entry's JSON (id spliced in, byte-identical to what was published live), if still retained. */
export async function readLogEntry(
  client: RedisClient,
  threadId: string,
  id: string,
): Promise<string | undefined> {
  const rows = await client.xrange(keys.threadLog(threadId), id, id);
  const row = rows[0];
  return row ? spliceId(id, fieldValue(row[1], "e")) : undefined;
}

function page(rows: [id: string, fields: string[]][], limit: number, truncated: boolean): LogPage {
  const entries = rows
    .slice(0, limit)
    .map(([id, fields]) => ({ id, json: spliceId(id, fieldValue(fields, "e")) }));
  return { entries, truncated, more: rows.length > limit };
}

function fieldValue(fields: string[], name: string): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] ?? "";
  return "";
}

/**
 * Compares two stream ids (`<ms>-<n>`) numerically: by the length of each part, then its digits (a
 * missing part counts as "0"). Runs for every live delivery, so it slices nothing and allocates
 * nothing: a split per call was ~8 % of the gateway's busy time at 5k deliveries/s (issue 16).
 */
export function compareIds(a: string, b: string): number {
  const aDash = a.indexOf("-");
  const bDash = b.indexOf("-");
  // The common case, two well-formed ids of one length with the dash in one place: both parts have
  // equal lengths, so the engine's own string order is the numeric order (no loop in JS).
  if (
    a.length === b.length &&
    aDash === bDash &&
    aDash !== -1 &&
    a.indexOf("-", aDash + 1) === -1 &&
    b.indexOf("-", bDash + 1) === -1
  ) {
    return a === b ? 0 : a < b ? -1 : 1;
  }
  const aMs = aDash === -1 ? a.length : aDash;
  const bMs = bDash === -1 ? b.length : bDash;
  const ms = compareRange(a, 0, aMs, b, 0, bMs);
  if (ms !== 0) return ms;
  // The sequence part runs to the next "-" (anything after it is ignored) or the end; "0" if absent.
  if (aDash === -1 && bDash === -1) return 0;
  const aSeq = aDash === -1 ? "0" : a;
  const bSeq = bDash === -1 ? "0" : b;
  const aFrom = aDash === -1 ? 0 : aDash + 1;
  const bFrom = bDash === -1 ? 0 : bDash + 1;
  return compareRange(aSeq, aFrom, partEnd(aSeq, aFrom), bSeq, bFrom, partEnd(bSeq, bFrom));
}

function partEnd(id: string, from: number): number {
  const dash = id.indexOf("-", from);
  return dash === -1 ? id.length : dash;
}

/** Shorter first, then by UTF-16 code unit, like comparing the two substrings with `<`. */
function compareRange(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  const length = aTo - aFrom;
  if (length !== bTo - bFrom) return length - (bTo - bFrom);
  for (let i = 0; i < length; i++) {
    const d = a.charCodeAt(aFrom + i) - b.charCodeAt(bFrom + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
