/** HTTP-date forms (IMF-fixdate, RFC 850, asctime) all start with a day name; `Date.parse` alone also accepts "-1". */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i;
/** asctime carries no zone; HTTP dates are always GMT (not the reader's local time). */
const ASCTIME = /^[a-z]{3} [a-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/i;

/**
 * A `Retry-After` value in milliseconds: delta-seconds ("3"; fractions, as some LLM providers send, are
 * rounded up) or an HTTP date (the time left until it, 0 once it has passed). `undefined` when absent or
 * unreadable, so callers fall back to their own backoff. The one parser for every client of the contract
 * (SDK, CLI, agents reading providers' answers).
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  if (!HTTP_DATE.test(trimmed)) return undefined;
  const date = Date.parse(ASCTIME.test(trimmed) ? `${trimmed} GMT` : trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
