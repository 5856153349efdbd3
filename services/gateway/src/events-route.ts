import { STREAM_PROTOCOL_HEADER, STREAM_PROTOCOL_VERSION } from "@threadline/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Admission } from "./admission.js";
import { type StreamAuthorizer, streamExpiresAtMs } from "./authorize-stream.js";
import { serveThreadStream, type ThreadStreamOptions } from "./serve-thread-stream.js";
import { createSseStream } from "./sse-stream.js";
import { createStreamIds } from "./stream-ids.js";
import {
  invalidQuery,
  ResumeId,
  resumePosition,
  streamModeOf,
  streamModeQuery,
  threadIdOf,
} from "./stream-query.js";

export interface EventsRouteOptions extends ThreadStreamOptions {
  authorize: StreamAuthorizer;
  admission: Admission;
  clockToleranceSeconds: number;
}

const EventsQuery = z.looseObject({
  access_token: z.string().optional(),
  after: ResumeId.optional(),
  ...streamModeQuery,
});

/** `GET /v1/threads/:threadId/events`: the SSE stream of a thread (see ARCHITECTURE.md, Gateway HTTP contract). */
export async function eventsRoute(app: FastifyInstance, options: EventsRouteOptions): Promise<void> {
  const nextStreamId = createStreamIds("");

  // No automatic HEAD twin: a HEAD must not open (and hold) a subscription.
  app.get("/v1/threads/:threadId/events", { exposeHeadRoute: false }, async (request, reply) => {
    const { threadId, resumeFrom, mode, queryToken } = parseRequest(request);
    const claims = await options.authorize(
      { authorization: request.headers.authorization, queryToken },
      threadId,
    );
    const lease = options.admission.acquire(claims.sub);
    const streamId = nextStreamId();
    const stream = createSseStream(options.ctx, {
      threadId,
      streamId,
      reqId: request.id,
      resumeFrom,
      ...mode,
      expiresAtMs: streamExpiresAtMs(claims, options.clockToleranceSeconds),
    });
    // A snapshot join reads the whole log (to fold it), so it needs no live-only start position.
    const liveOnly = resumeFrom === undefined && !mode.snapshot;
    reply.header(STREAM_PROTOCOL_HEADER, String(STREAM_PROTOCOL_VERSION));
    if (await serveThreadStream(options, request, reply, { threadId, streamId, stream, lease, liveOnly })) {
      request.log.debug({ threadId, streamId, sub: claims.sub, resumeFrom }, "stream opened");
    }
  });
}

function parseRequest(request: FastifyRequest) {
  const threadId = threadIdOf(request);
  const query = EventsQuery.safeParse(request.query ?? {});
  if (!query.success) {
    throw invalidQuery(
      query.error,
      "after=<event id>|0, until=done, format=named|message, snapshot=1, types=<type,…>, runId=<run id>, agent=<name/name…>",
    );
  }
  return {
    threadId,
    resumeFrom: resumePosition(request, query.data.after),
    mode: streamModeOf(query.data),
    queryToken: query.data.access_token,
  };
}
