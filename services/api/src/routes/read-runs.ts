import { ERRORS, ListRunsQuery, RunList, RunParams, RunView, ThreadParams } from "@threadline/protocol";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { runNotFound } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import { listRuns } from "../thread-history.js";
import type { RouteContext } from "./route-context.js";

/** `GET /v1/threads/:threadId/runs/:runId` and `GET /v1/threads/:threadId/runs` (newest first). */
export function readRunsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    "/v1/threads/:threadId/runs/:runId",
    {
      schema: routeSchema({
        summary: "Read one run: status, timestamps, attempts, output or error",
        params: RunParams,
        responses: { 200: RunView },
        errors: [400, 401, 403, 404],
      }),
    },
    async (request) => {
      const { threadId, runId } = parseOrThrow(RunParams, request.params, ERRORS.INVALID_PARAMS, "path");
      await ctx.access.check(claimsOf(request), threadId);
      // After its Redis TTL (or a Redis restart) the record comes from the archive.
      const run =
        (await ctx.runs.get(threadId, runId)) ?? (await ctx.archive?.reader.getRun(threadId, runId));
      if (!run) throw runNotFound(threadId, runId);
      return run;
    },
  );

  app.get(
    "/v1/threads/:threadId/runs",
    {
      schema: routeSchema({
        summary: "List a thread's runs, newest first (beyond Redis's 24 h from the archive)",
        params: ThreadParams,
        querystring: ListRunsQuery,
        responses: { 200: RunList },
        errors: [400, 401, 403],
      }),
    },
    async (request) => {
      const { threadId } = parseOrThrow(ThreadParams, request.params, ERRORS.INVALID_PARAMS, "path");
      const { limit } = parseOrThrow(ListRunsQuery, request.query, ERRORS.INVALID_QUERY, "query");
      await ctx.access.check(claimsOf(request), threadId);
      const list: RunList = { runs: await listRuns(ctx, threadId, limit) };
      return list;
    },
  );
}
