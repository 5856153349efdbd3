import { CancelledRun, ERRORS, RunParams, type RunView } from "@threadline/protocol";
import { cancelRun } from "@threadline/redis";
import { type HttpError, httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { runNotFound } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import type { RouteContext } from "./route-context.js";

/**
 * `POST /v1/threads/:threadId/runs/:runId/cancel` → 202. A job no worker holds yet (waiting, or
 * delayed before a retry) is removed here and its run ends with `status cancelled` + `done cancelled`;
 * a running one is aborted by whichever worker holds it, told through the control channel
 * (packages/redis `cancelRun`, which the gateway's WebSocket cancel shares).
 */
export function cancelRunRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    "/v1/threads/:threadId/runs/:runId/cancel",
    {
      schema: routeSchema({
        summary: "Cancel a run (queued runs end at once; running ones are aborted by their worker)",
        params: RunParams,
        responses: { 202: CancelledRun },
        errors: [400, 401, 403, 404, 409],
      }),
    },
    async (request, reply) => {
      const { threadId, runId } = parseOrThrow(RunParams, request.params, ERRORS.INVALID_PARAMS, "path");
      await ctx.access.check(claimsOf(request), threadId);
      const result = await cancelRun(ctx, { threadId, runId, by: claimsOf(request).sub });
      if (result.outcome === "not_found") throw runNotFound(threadId, runId);
      if (result.outcome === "finished") throw finished(result.run);
      const status = result.outcome;
      ctx.metrics.cancelled(status === "cancelled" ? "queued" : "running");
      request.log.info({ threadId, runId, status }, "run cancel requested");
      const body: CancelledRun = { runId, threadId, status };
      return reply.code(202).send(body);
    },
  );
}

function finished(run: RunView): HttpError {
  return httpError(ERRORS.RUN_FINISHED, `run ${run.runId} already ended (${run.status}); nothing to cancel`, {
    status: run.status,
  });
}
