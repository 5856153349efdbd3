import { parseChannelMessage, preview } from "@threadline/protocol";
import { keys } from "@threadline/redis";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { API_ERRORS } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import { EventsPage, EventsQuery, ThreadParams } from "../schemas.js";
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
        responses: { 200: EventsPage },
        errors: [400, 401, 403],
      }),
    },
    async (request) => {
      const { threadId } = parseOrThrow(ThreadParams, request.params, API_ERRORS.invalidParams, "path");
      const { after, limit } = parseOrThrow(EventsQuery, request.query, API_ERRORS.invalidQuery, "query");
      await ctx.access.check(claimsOf(request), threadId);
      const log = await ctx.readPage(threadId, after, limit);
      // The gateway's rule for the same entries: parse each like a channel message and drop (log,
      // count) what is not a valid event, so the page and the stream never disagree.
      const channel = keys.threadChannel(threadId);
      const events: Record<string, unknown>[] = [];
      for (const entry of log.entries) {
        const parsed = parseChannelMessage(channel, entry.json, { maxBytes: ctx.config.maxEventBytes });
        if (parsed.ok) {
          events.push(JSON.parse(parsed.json) as Record<string, unknown>);
          continue;
        }
        ctx.metrics.invalidEvent(parsed.reason);
        request.log.warn(
          { threadId, id: entry.id, reason: parsed.reason, detail: preview(parsed.detail, 200) },
          "dropped invalid log entry",
        );
      }
      const page: EventsPage = {
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
