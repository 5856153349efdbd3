import { z } from "zod";

/** Thread and run ids: safe in URLs, Redis keys and log lines. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const ThreadId = z.string().regex(ID_PATTERN, "must be 1-128 characters of A-Z, a-z, 0-9, _ or -");
export type ThreadId = z.infer<typeof ThreadId>;

export const RunId = z.string().regex(ID_PATTERN, "must be 1-128 characters of A-Z, a-z, 0-9, _ or -");
export type RunId = z.infer<typeof RunId>;

/** A Redis Stream entry id (`<ms>-<n>`), the replay position carried in SSE `id:` lines. */
export const EVENT_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;
export const EventId = z.string().regex(EVENT_ID_PATTERN, "must be a replay-log id like 1700000000000-0");
export type EventId = z.infer<typeof EventId>;

export function isThreadId(value: string): boolean {
  return ID_PATTERN.test(value);
}
