import { ERRORS, EventId, ThreadId } from "@threadline/protocol";
import { LOG_START } from "@threadline/redis";
import { type HttpError, httpError } from "@threadline/server";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { streamFilterOf, streamFilterQuery } from "./stream-filter.js";

/** A resume position: a log id, or `0` for everything retained. */
export const ResumeId = z.union([z.literal(LOG_START), EventId]);
/** `?snapshot=1`: join with the run's state so far (see thread-join.ts). */
export const SnapshotParam = z.enum(["0", "1"], { error: 'one of "1" (join with a snapshot) or "0"' });

/**
 * How an SSE event stream is delivered: the query parameters the single-thread and the multiplexed
 * events routes share (each adds its own threads and resume position), so the two routes cannot drift.
 */
export const streamModeQuery = {
  until: z.literal("done", { error: 'the only value is "done"' }).optional(),
  format: z.enum(["named", "message"], { error: 'one of "named" (default) or "message"' }).optional(),
  snapshot: SnapshotParam.optional(),
  ...streamFilterQuery,
};

/** The parsed `streamModeQuery`, as the stream factories take it. */
export function streamModeOf(query: z.infer<z.ZodObject<typeof streamModeQuery>>) {
  return {
    untilDone: query.until === "done",
    framing: query.format ?? "named",
    filter: streamFilterOf(query),
    snapshot: query.snapshot === "1",
  };
}

/** The 400 for a query that failed its schema: `usage` lists what the route takes, details each field. */
export function invalidQuery(error: z.ZodError, usage: string): HttpError {
  const details = error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
  return httpError(ERRORS.INVALID_QUERY, `invalid query parameters: ${usage}`, details);
}

/** The `:threadId` path parameter (400 if malformed). */
export function threadIdOf(request: FastifyRequest): string {
  const params = request.params as { threadId?: string };
  const thread = ThreadId.safeParse(params.threadId);
  if (!thread.success) {
    throw httpError(ERRORS.INVALID_THREAD_ID, `thread id ${thread.error.issues[0]?.message}`);
  }
  return thread.data;
}

/** The `Last-Event-ID` header when sent (400 if malformed), else `?after`. */
export function resumePosition(request: FastifyRequest, after: string | undefined): string | undefined {
  const header = request.headers["last-event-id"];
  if (header === undefined || header === "") return after;
  const parsed = ResumeId.safeParse(header);
  if (!parsed.success) {
    throw httpError(
      ERRORS.INVALID_LAST_EVENT_ID,
      "Last-Event-ID must be an event id like 1700000000000-0, or 0",
    );
  }
  return parsed.data;
}
