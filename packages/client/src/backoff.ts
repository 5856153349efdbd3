export interface BackoffOptions {
  /** The base delay: the server's `retry:` hint when it sent one. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog): a uniform delay in
 * [0, min(max, initial × 2^attempt)], so clients cut off together (a gateway restart) do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
