import {
  ERRORS,
  EventsQuery,
  HistoryPage,
  parseChannelMessage,
  preview,
  type ThreadEvent,
  ThreadParams,
} from "@threadline/protocol";
import { keys } from "@threadline/redis";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import type { RouteContext } from "./route-context.js";

/** `GET /v1/threads/:threadId/events?after&limit`: the replay log as JSON pages (no streaming). */
export function readEventsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    "/v1/threads/:threadId/events",
    {
      schema: routeSchema({
        summary: "Read a page of a thread's replay log (the non-streaming way to read a thread)",
        params: ThreadParams,
        querystring: EventsQuery,
        responses: { 200: HistoryPage },
        errors: [400, 401, 403],
      }),
    },
    async (request) => {
      const { threadId } = parseOrThrow(ThreadParams, request.params, ERRORS.INVALID_PARAMS, "path");
      const { after, limit } = parseOrThrow(EventsQuery, request.query, ERRORS.INVALID_QUERY, "query");
      await ctx.access.check(claimsOf(request), threadId);
      const log = await ctx.readPage(threadId, after, limit);
      // The gateway's rule for the same entries: parse each like a channel message and drop (log,
      // count) what is not a valid event, so the page and the stream never disagree.
      const channel = keys.threadChannel(threadId);
      const events: ThreadEvent[] = [];
      for (const entry of log.entries) {
        const parsed = parseChannelMessage(channel, entry.json, { maxBytes: ctx.config.maxEventBytes });
        if (parsed.ok) {
          events.push(JSON.parse(parsed.json) as ThreadEvent);
          continue;
        }
        ctx.metrics.invalidEvent(parsed.reason);
        request.log.warn(
          { threadId, id: entry.id, reason: parsed.reason, detail: preview(parsed.detail, 200) },
          "dropped invalid log entry",
        );
      }
      const page: HistoryPage = {
        events,
        // A position that is gone is not worth repeating: continue from the start of what is retained.
        nextAfter: log.entries.at(-1)?.id ?? (log.truncated ? "0" : after),
        truncated: log.truncated,
        more: log.more,
      };
      return page;
    },
  );
}
