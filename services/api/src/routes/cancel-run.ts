import {
  CancelledRun,
  type ControlMessage,
  ERRORS,
  isFinalState,
  RunParams,
  type RunView,
} from "@threadline/protocol";
import { sendControl } from "@threadline/redis";
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
 * a running one is aborted by whichever worker holds it, told through the control channel.
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
      const run = await ctx.runs.get(threadId, runId);
      if (!run) throw runNotFound(threadId, runId);
      if (isFinalState(run.status)) throw finished(run);

      const removed = await ctx.queue.removeQueued(runId);
      if (removed === "finished" || removed === "missing") {
        // The job ended (or was cleaned up) between our read and the removal: report what the run became.
        const latest = (await ctx.runs.get(threadId, runId)) ?? run;
        if (removed === "finished" || isFinalState(latest.status)) throw finished(latest);
      }
      let status: RunView["status"];
      if (removed === "removed" || removed === "missing") {
        // Nobody holds the job, and nobody ever will: this request ends the run.
        // Keyed: two cancels racing here (or a retried request) end the run once.
        await ctx.lifecycle.cancel({ threadId, runId });
        status = "cancelled";
      } else {
        // The record stays the worker's to write: setting `cancelling` here could overwrite a
        // `completed` the worker stores a moment later.
        status = "cancelling";
      }
      ctx.metrics.cancelled(status === "cancelled" ? "queued" : "running");
      // Always tell the workers: one may have taken the job a moment ago.
      const message: ControlMessage = {
        type: "cancel",
        threadId,
        runId,
        reason: `cancelled by ${claimsOf(request).sub}`,
      };
      await sendControl(ctx.redis, message);
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
