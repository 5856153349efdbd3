/** A replay-log entry id (`<ms>-<n>`) split into the two numbers the archive sorts by. */
export interface LogPosition {
  ms: number;
  n: number;
}

/** "0" (the start) and "0-0" are both position 0-0. */
export function parseLogId(id: string): LogPosition {
  const [ms = "0", n = "0"] = id.split("-");
  return { ms: Number(ms), n: Number(n) };
}

export function formatLogId(position: LogPosition): string {
  return `${position.ms}-${position.n}`;
}

/** A `threads` row's archive cursor (`cursor_ms`, `cursor_n`) as a log id. */
export function cursorOfRow(row: { [column: string]: unknown }): string {
  return formatLogId({ ms: Number(row.cursor_ms), n: Number(row.cursor_n) });
}

/**
 * The advisory-lock pair every writer of one thread's archive rows takes (copy, delete, purge), so
 * they never interleave: the class below and `hashtext(thread_id)`.
 */
export const THREAD_LOCK_CLASS = 17_017;
