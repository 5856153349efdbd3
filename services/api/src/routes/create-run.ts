import { DEFAULT_AGENT } from "@threadline/agents";
import { type CreatedRun, CreateRunAnswer, ERRORS, RunRequest, ThreadParams } from "@threadline/protocol";
import { RUN_BACKOFF_TYPE } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { checkAgentInput } from "../check-agent-input.js";
import {
  checkExternalRunsAvailable,
  EXTERNAL_AGENT,
  startExternalRun,
} from "../external/start-external-run.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { requireRedis } from "../require-redis.js";
import { routeSchema } from "../route-schema.js";
import { newRunId } from "../run-id.js";
import type { RouteContext } from "./route-context.js";

/** `POST /v1/threads/:threadId/runs`: validate, claim the thread, record the run, announce it, enqueue it. */
export function createRunRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    "/v1/threads/:threadId/runs",
    {
      schema: routeSchema({
        summary:
          'Start a run of an agent on a thread, or an external run (`runner: "external"`) whose events your own process publishes',
        params: ThreadParams,
        body: RunRequest,
        responses: { 202: CreateRunAnswer },
        errors: [400, 401, 403, 413, 415, 429, 503],
      }),
      // Opts into the per-subject run limit (rate-limit.ts; ignored when it is off).
      config: { rateLimit: {} },
      // Before the rate limit's Redis call: with Redis down, fail fast instead of waiting it out.
      onRequest: requireRedis(ctx.redis),
    },
    async (request, reply) => {
      const claims = claimsOf(request);
      const { threadId } = parseOrThrow(ThreadParams, request.params, ERRORS.INVALID_PARAMS, "path");
      const body = parseOrThrow(RunRequest, request.body ?? {}, ERRORS.INVALID_BODY, "body");
      const external = body.runner === "external";
      const agent = external ? EXTERNAL_AGENT : (body.agent ?? DEFAULT_AGENT);
      if (external) checkExternalRunsAvailable(ctx);
      else checkAgentInput(ctx.agents, agent, body.input ?? {});

      await ctx.access.claim(claims, threadId);
      const runId = newRunId(ctx.now());
      const [queued] = await ctx.lifecycle.start({
        runId,
        threadId,
        agent,
        ...(body.input ? { input: body.input } : {}),
        ...(external ? { runner: "external" as const } : {}),
        ...(body.metadata ? { metadata: body.metadata } : {}),
      });
      if (external) {
        const createdAt = new Date(queued?.ts ?? ctx.now()).toISOString();
        const response = await startExternalRun(ctx, { threadId, runId, createdAt });
        ctx.metrics.created(agent);
        request.log.info({ threadId, runId, sub: claims.sub }, "external run created");
        return reply.code(202).send(response);
      }
      try {
        await ctx.queue.enqueue(
          {
            runId,
            threadId,
            agent,
            input: body.input ?? {},
            owner: claims.sub,
            ...(body.metadata ? { metadata: body.metadata } : {}),
            ...(body.onDisconnect ? { onDisconnect: body.onDisconnect } : {}),
          },
          {
            attempts: ctx.config.runAttempts,
            // Exponential, or the provider's retry-after (workers register runBackoffStrategy).
            backoff: { type: RUN_BACKOFF_TYPE, delay: ctx.config.runBackoffMs },
          },
        );
      } catch (error) {
        request.log.error({ err: error, threadId, runId }, "could not enqueue the run");
        // A run whose job never reached the queue ends at once, so nobody waits on it forever.
        const { code, message, retryable } = ERRORS.ENQUEUE_FAILED;
        await ctx.lifecycle.fail({ threadId, runId }, { code, message, retryable }).catch(() => {});
        throw httpError(ERRORS.UNAVAILABLE, "the run could not be queued; try again shortly", undefined, {
          "retry-after": "1",
        });
      }
      ctx.metrics.created(agent);
      request.log.info({ threadId, runId, agent, sub: claims.sub }, "run queued");
      const response: CreatedRun = {
        runId,
        threadId,
        status: "queued",
        eventsUrl: `${ctx.config.gatewayPublicUrl ?? ""}/v1/threads/${threadId}/events`,
      };
      return reply.code(202).send(response);
    },
  );
}
