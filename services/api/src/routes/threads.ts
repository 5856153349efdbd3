import { deleteArchivedThread, foldMessages } from "@threadline/archive";
import { isAdmin } from "@threadline/auth";
import {
  type ControlMessage,
  ERRORS,
  ListThreadsQuery,
  STREAM_ERROR_CODES,
  ThreadCursor,
  ThreadList,
  ThreadMessages,
  ThreadParams,
} from "@threadline/protocol";
import { deleteThreadKeys, sendControl } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { forbidden } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import { listRuns, readThreadEntries } from "../thread-history.js";
import type { RouteContext } from "./route-context.js";

/** Runs and log entries a messages page folds at most (the oldest beyond are left out). */
const MESSAGES_MAX_RUNS = 200;
const MESSAGES_MAX_ENTRIES = 50_000;

/** Thread history: the caller's threads, a thread as a conversation, and deleting a thread. */
export function threadRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    "/v1/threads",
    {
      schema: routeSchema({
        summary: "The caller's threads, most recently active first (needs the archive)",
        tags: ["threads"],
        querystring: ListThreadsQuery,
        responses: { 200: ThreadList },
        errors: [400, 401, 503],
      }),
    },
    async (request) => {
      const { limit, cursor } = parseOrThrow(ListThreadsQuery, request.query, ERRORS.INVALID_QUERY, "query");
      if (!ctx.archive) {
        throw httpError(ERRORS.ARCHIVE_DISABLED);
      }
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const rows = await ctx.archive.reader.listThreads(claimsOf(request).sub, limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const list: ThreadList = {
        threads: page.map(({ threadId, lastRunId, lastStatus, updatedAt, preview }) => ({
          threadId,
          lastRunId,
          lastStatus: lastStatus as ThreadList["threads"][number]["lastStatus"],
          updatedAt,
          preview,
        })),
        nextCursor:
          rows.length > limit && last
            ? encodeCursor({ updatedAt: last.updatedAt, threadId: last.threadId })
            : null,
      };
      return list;
    },
  );

  app.get(
    "/v1/threads/:threadId/messages",
    {
      schema: routeSchema({
        summary: "A thread as a conversation: each run's input and final answer with its tool calls",
        tags: ["threads"],
        params: ThreadParams,
        responses: { 200: ThreadMessages },
        errors: [400, 401, 403],
      }),
    },
    async (request) => {
      const { threadId } = parseOrThrow(ThreadParams, request.params, ERRORS.INVALID_PARAMS, "path");
      await ctx.access.check(claimsOf(request), threadId);
      const runs = await listRuns(ctx, threadId, MESSAGES_MAX_RUNS);
      const entries = await readThreadEntries(ctx, threadId, MESSAGES_MAX_ENTRIES);
      const body: ThreadMessages = { messages: foldMessages(runs, entries) };
      return body;
    },
  );

  app.delete(
    "/v1/threads/:threadId",
    {
      schema: routeSchema({
        summary:
          "Delete a thread: its log, meta, run records and archive rows; live streams get THREAD_DELETED; runs in flight are stopped",
        tags: ["threads"],
        params: ThreadParams,
        responses: { 204: ThreadParams.pick({}) },
        errors: [400, 401, 403, 404],
      }),
    },
    async (request, reply) => {
      const claims = claimsOf(request);
      const { threadId } = parseOrThrow(ThreadParams, request.params, ERRORS.INVALID_PARAMS, "path");
      const owner = await ctx.access.owner(threadId);
      if (owner === null) {
        throw httpError(ERRORS.THREAD_NOT_FOUND, `no thread ${threadId} (or it has no owner)`);
      }
      if (owner !== claims.sub && !isAdmin(claims)) throw forbidden(threadId);
      // First the live streams hear it (and end), then everything goes: Redis, then the archive (which
      // waits for an archiver mid-copy of this thread, so its rows go too).
      await ctx.publisher.publish(
        { threadId },
        {
          type: "error",
          content: {
            code: STREAM_ERROR_CODES.threadDeleted,
            message: ERRORS.THREAD_DELETED.message,
            retryable: false,
          },
        },
      );
      const archivedRuns = ctx.archive ? await ctx.archive.reader.listRuns(threadId, 10_000) : [];
      const { fencedRunIds } = await deleteThreadKeys(
        ctx.redis,
        threadId,
        archivedRuns.map((r) => r.runId),
      );
      // Runs that had not ended are fenced (their producers are refused from now on); queued jobs go,
      // and whichever worker holds a running one is told to stop its agent now, not at its next event.
      for (const runId of fencedRunIds) {
        await ctx.queue.removeQueued(runId);
        const message: ControlMessage = { type: "cancel", threadId, runId, reason: "thread deleted" };
        await sendControl(ctx.redis, message);
      }
      if (ctx.archive) await deleteArchivedThread(ctx.archive.sql, threadId);
      request.log.info({ threadId, sub: claims.sub, stoppedRuns: fencedRunIds.length }, "thread deleted");
      return reply.code(204).send();
    },
  );
}

function encodeCursor(cursor: ThreadCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(text: string): ThreadCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  return parseOrThrow(ThreadCursor, value, ERRORS.INVALID_QUERY, "cursor");
}
