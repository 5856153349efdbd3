import { readLog } from "@threadline/redis";
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
      const log = await readLog(ctx.redis, threadId, after, limit);
      const page: EventsPage = {
        events: log.entries.map((entry) => JSON.parse(entry.json) as Record<string, unknown>),
        // A position that is gone is not worth repeating: continue from the start of what is retained.
        nextAfter: log.entries.at(-1)?.id ?? (log.truncated ? "0" : after),
        truncated: log.truncated,
        more: log.more,
      };
      return page;
    },
  );
}
