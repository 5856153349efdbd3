import { z } from "zod";

/** Thread and run ids: safe in URLs, Redis keys and log lines. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const ThreadId = z.string().regex(ID_PATTERN, "must be 1-128 characters of A-Z, a-z, 0-9, _ or -");
export type ThreadId = z.infer<typeof ThreadId>;

export const RunId = z.string().regex(ID_PATTERN, "must be 1-128 characters of A-Z, a-z, 0-9, _ or -");
export type RunId = z.infer<typeof RunId>;

/** The shape of a Redis Stream entry id (`<ms>-<n>`); {@link isEventId} also bounds each part. */
export const EVENT_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;
const MAX_ID_PART = 2n ** 64n - 1n;

/**
 * True for a replay-log id Redis can hold: two unsigned 64-bit integers. Twenty digits fit the pattern
 * but may exceed 64 bits, which Redis refuses (`XRANGE` errors): such an id is a client's mistake (400),
 * never a server failure.
 */
export function isEventId(value: string): boolean {
  if (!EVENT_ID_PATTERN.test(value)) return false;
  const [ms = "", n = ""] = value.split("-");
  return fitsUint64(ms) && fitsUint64(n);
}

// 19 digits always fit (10^19 - 1 < 2^64): only 20-digit parts need the exact comparison (hot path).
function fitsUint64(digits: string): boolean {
  return digits.length < 20 || BigInt(digits) <= MAX_ID_PART;
}

/** A Redis Stream entry id (`<ms>-<n>`), the replay position carried in SSE `id:` lines. */
export const EventId = z
  .string()
  .refine(isEventId, "must be a replay-log id like 1700000000000-0 (two numbers of at most 64 bits)");
export type EventId = z.infer<typeof EventId>;

export function isThreadId(value: string): boolean {
  return ID_PATTERN.test(value);
}
