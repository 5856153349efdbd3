import { randomBytes } from "node:crypto";
import { STREAM_PROTOCOL_HEADER, STREAM_PROTOCOL_VERSION } from "@threadline/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Admission } from "./admission.js";
import type { StreamAuthorizer } from "./authorize-stream.js";
import { serveThreadStream, type ThreadStreamOptions } from "./serve-thread-stream.js";
import { createSseStream } from "./sse-stream.js";
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
  const instanceId = randomBytes(6).toString("hex");
  let streamCount = 0;

  // No automatic HEAD twin: a HEAD must not open (and hold) a subscription.
  app.get("/v1/threads/:threadId/events", { exposeHeadRoute: false }, async (request, reply) => {
    const { threadId, resumeFrom, untilDone, framing, filter, snapshot, queryToken } = parseRequest(request);
    const claims = await options.authorize(
      { authorization: request.headers.authorization, queryToken },
      threadId,
    );
    const lease = options.admission.acquire(claims.sub);
    const streamId = `${instanceId}:${++streamCount}`;
    const stream = createSseStream(options.ctx, {
      threadId,
      streamId,
      reqId: request.id,
      resumeFrom,
      untilDone,
      framing,
      filter,
      snapshot,
      expiresAtMs: (claims.exp + options.clockToleranceSeconds) * 1000,
    });
    // Everything this stream holds is released through its one dispose path, however it ends
    // (including a setup the client or Redis abandoned before the 200).
    stream.defer(() => lease.release());
    // A snapshot join reads the whole log (to fold it), so it needs no live-only start position.
    const liveOnly = resumeFrom === undefined && !snapshot;
    reply.header(STREAM_PROTOCOL_HEADER, String(STREAM_PROTOCOL_VERSION));
    if (await serveThreadStream(options, request, reply, { threadId, streamId, stream, liveOnly })) {
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
  return { threadId, resumeFrom: resumePosition(request, query.data.after), ...streamModeOf(query.data) };
}
