import { DEFAULT_AGENT } from "@threadline/agents";
import {
  type CreatedRun,
  CreateRunAnswer,
  CreateRunQuery,
  ERRORS,
  RunRequest,
  RunView,
  ThreadParams,
} from "@threadline/protocol";
import { RUN_BACKOFF_TYPE, ThreadOwnedError } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { claimsOf } from "../authenticate.js";
import { checkAgentInput } from "../check-agent-input.js";
import { forbidden } from "../errors.js";
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
import { streamRun, waitForRun, wantsEventStream } from "./run-answers.js";

/**
 * `POST /v1/threads/:threadId/runs`: validate, claim the thread, record the run, announce it, enqueue it;
 * then answer at once (202), after waiting for its end (`?wait=`), or by streaming it (`Accept: text/event-stream`).
 */
export function createRunRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    "/v1/threads/:threadId/runs",
    {
      schema: routeSchema({
        summary:
          'Start a run of an agent on a thread, or an external run (`runner: "external"`) whose events your own process publishes',
        params: ThreadParams,
        querystring: CreateRunQuery,
        body: RunRequest,
        // 200: `?wait=` saw the run end; 202: queued (no wait), or still going when the wait ended.
        // With `Accept: text/event-stream`: 200, the run's events as SSE until its `done`.
        responses: { 200: RunView, 202: CreateRunAnswer.or(RunView) },
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
      const { wait } = parseOrThrow(CreateRunQuery, request.query ?? {}, ERRORS.INVALID_QUERY, "query");
      const external = body.runner === "external";
      const agent = external ? EXTERNAL_AGENT : (body.agent ?? DEFAULT_AGENT);
      if (external) checkExternalRunsAvailable(ctx);
      else checkAgentInput(ctx.agents, agent, body.input ?? {});

      const claim = await ctx.access.claimForStart(claims, threadId);
      const runId = newRunId(ctx.now());
      // The thread's claim and the run's start are one script: one round trip, and no `status
      // queued` on a thread the caller may not use.
      const [queued] = await ctx.lifecycle
        .start(
          {
            runId,
            threadId,
            agent,
            ...(body.input ? { input: body.input } : {}),
            ...(external ? { runner: "external" as const } : {}),
            ...(body.metadata ? { metadata: body.metadata } : {}),
            ...(body.budget ? { budget: body.budget } : {}),
          },
          claim,
        )
        .catch((error: unknown) => {
          throw error instanceof ThreadOwnedError ? forbidden(threadId) : error;
        });
      const answer = (created: CreateRunAnswer) => {
        const target = { threadId, runId, fromId: queued?.id ?? "0-0" };
        if (wantsEventStream(request)) {
          return streamRun(ctx, request, reply, { ...target, expiresAtMs: claims.exp * 1000 });
        }
        if (wait > 0) return waitForRun(ctx, reply, target, wait);
        return reply.code(202).send(created);
      };
      if (external) {
        const createdAt = new Date(queued?.ts ?? ctx.now()).toISOString();
        const response = await startExternalRun(ctx, { threadId, runId, createdAt });
        ctx.metrics.created(agent);
        request.log.info({ threadId, runId, sub: claims.sub }, "external run created");
        return answer(response);
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
            ...(body.budget ? { budget: body.budget } : {}),
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
      return answer(response);
    },
  );
}
