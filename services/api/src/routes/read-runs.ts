import { RunView } from "@threadline/protocol";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { API_ERRORS, runNotFound } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import { ListRunsQuery, RunList, RunParams, ThreadParams } from "../schemas.js";
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
      const { threadId, runId } = parseOrThrow(RunParams, request.params, API_ERRORS.invalidParams, "path");
      await ctx.access.check(claimsOf(request), threadId);
      const run = await ctx.runs.get(threadId, runId);
      if (!run) throw runNotFound(threadId, runId);
      return run;
    },
  );

  app.get(
    "/v1/threads/:threadId/runs",
    {
      schema: routeSchema({
        summary: "List a thread's runs, newest first",
        params: ThreadParams,
        querystring: ListRunsQuery,
        responses: { 200: RunList },
        errors: [400, 401, 403],
      }),
    },
    async (request) => {
      const { threadId } = parseOrThrow(ThreadParams, request.params, API_ERRORS.invalidParams, "path");
      const { limit } = parseOrThrow(ListRunsQuery, request.query, API_ERRORS.invalidQuery, "query");
      await ctx.access.check(claimsOf(request), threadId);
      const list: RunList = { runs: await ctx.runs.list(threadId, limit) };
      return list;
    },
  );
}
