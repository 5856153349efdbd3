import { ERRORS, isFinalState, RunId } from "@threadline/protocol";
import { createRunRecords } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { streamExpiresAtMs } from "./authorize-stream.js";
import type { EventsRouteOptions } from "./events-route.js";
import { serveThreadStream } from "./serve-thread-stream.js";
import { createStreamIds } from "./stream-ids.js";
import { invalidQuery, ResumeId, resumePosition, SnapshotParam, threadIdOf } from "./stream-query.js";
import { createUiStream } from "./ui-stream.js";

const UiStreamQuery = z.looseObject({
  access_token: z.string().optional(),
  runId: RunId.optional(),
  after: ResumeId.optional(),
  snapshot: SnapshotParam.optional(),
});

/**
 * `GET /v1/threads/:threadId/ui-stream`: a run as a Vercel AI SDK UI message stream, for apps that keep
 * `DefaultChatTransport` (its `reconnectToStream` URL). The thread's latest run (or `?runId=`) from its
 * start, or after `Last-Event-ID`/`?after=`; 204 when the thread has no run in progress and none was
 * asked for — what `useChat`'s resume expects. Same auth and limits as the events route. `?snapshot=1`:
 * the run so far in a few coalesced chunks (one delta per part), then live. No `types=`/`agent=`: the
 * stream is ONE assistant message, whose parts must be whole for the AI SDK to build it.
 */
export async function uiStreamRoute(app: FastifyInstance, options: EventsRouteOptions): Promise<void> {
  const nextStreamId = createStreamIds("ui:");
  const runs = createRunRecords(options.ctx.redis, {
    onInvalid: ({ key, problem }) =>
      options.ctx.log.warn({ key, problem }, "invalid run record; read as absent"),
  });

  app.get("/v1/threads/:threadId/ui-stream", { exposeHeadRoute: false }, async (request, reply) => {
    const { threadId, runId: asked, after, snapshot, queryToken } = parseRequest(request);
    const claims = await options.authorize(
      { authorization: request.headers.authorization, queryToken },
      threadId,
    );
    let runId = asked;
    if (runId === undefined) {
      const [latest] = await runs.list(threadId, 1);
      if (!latest || isFinalState(latest.status)) return reply.code(204).send();
      runId = latest.runId;
    } else if (!(await runs.get(threadId, runId))) {
      throw httpError(ERRORS.RUN_NOT_FOUND, `no run ${runId} in thread ${threadId} (or it expired)`);
    }
    const lease = options.admission.acquire(claims.sub);
    const streamId = nextStreamId();
    const stream = createUiStream(options.ctx, {
      threadId,
      runId,
      streamId,
      reqId: request.id,
      after,
      snapshot,
      expiresAtMs: streamExpiresAtMs(claims, options.clockToleranceSeconds),
    });
    if (
      await serveThreadStream(options, request, reply, { threadId, streamId, stream, lease, liveOnly: false })
    ) {
      request.log.debug({ threadId, runId, streamId, sub: claims.sub, after }, "ui stream opened");
    }
  });
}

function parseRequest(request: FastifyRequest) {
  const threadId = threadIdOf(request);
  const query = UiStreamQuery.safeParse(request.query ?? {});
  if (!query.success) throw invalidQuery(query.error, "runId=<run id>, after=<event id>|0, snapshot=1");
  return {
    threadId,
    runId: query.data.runId,
    after: resumePosition(request, query.data.after),
    snapshot: query.data.snapshot === "1",
    queryToken: query.data.access_token,
  };
}
