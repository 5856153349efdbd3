import { randomBytes } from "node:crypto";
import {
  ERRORS,
  EventId,
  STREAM_PROTOCOL_HEADER,
  STREAM_PROTOCOL_VERSION,
  ThreadId,
} from "@threadline/protocol";
import { LOG_START } from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Admission } from "./admission.js";
import type { StreamAuthorizer } from "./authorize-stream.js";
import { serveThreadStream, type ThreadStreamOptions } from "./serve-thread-stream.js";
import { createSseStream } from "./sse-stream.js";
import { streamFilterOf, streamFilterQuery } from "./stream-filter.js";

export interface EventsRouteOptions extends ThreadStreamOptions {
  authorize: StreamAuthorizer;
  admission: Admission;
  clockToleranceSeconds: number;
}

/** A resume position: a log id, or `0` for everything retained. */
export const ResumeId = z.union([z.literal(LOG_START), EventId]);
/** `?snapshot=1`: join with the run's state so far (see thread-join.ts). */
export const SnapshotParam = z.enum(["0", "1"], { error: 'one of "1" (join with a snapshot) or "0"' });
const EventsQuery = z.looseObject({
  access_token: z.string().optional(),
  after: ResumeId.optional(),
  until: z.literal("done", { error: 'the only value is "done"' }).optional(),
  format: z.enum(["named", "message"], { error: 'one of "named" (default) or "message"' }).optional(),
  snapshot: SnapshotParam.optional(),
  ...streamFilterQuery,
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
  const params = request.params as { threadId?: string };
  const thread = ThreadId.safeParse(params.threadId);
  if (!thread.success) {
    throw httpError(ERRORS.INVALID_THREAD_ID, `thread id ${thread.error.issues[0]?.message}`);
  }
  const query = EventsQuery.safeParse(request.query ?? {});
  if (!query.success) {
    const details = query.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    throw httpError(
      ERRORS.INVALID_QUERY,
      "invalid query parameters: after=<event id>|0, until=done, format=named|message, snapshot=1, types=<type,…>, runId=<run id>, agent=<name/name…>",
      details,
    );
  }
  const resumeFrom = resumePosition(request, query.data.after);
  return {
    threadId: thread.data,
    resumeFrom,
    untilDone: query.data.until === "done",
    framing: query.data.format ?? "named",
    filter: streamFilterOf(query.data),
    snapshot: query.data.snapshot === "1",
    queryToken: query.data.access_token,
  };
}

/** The `Last-Event-ID` header when sent (400 if malformed), else `?after`. */
export function resumePosition(request: FastifyRequest, after: string | undefined): string | undefined {
  const header = request.headers["last-event-id"];
  if (header === undefined || header === "") return after;
  const parsed = ResumeId.safeParse(header);
  if (!parsed.success) {
    throw httpError(
      ERRORS.INVALID_LAST_EVENT_ID,
      "Last-Event-ID must be an event id like 1700000000000-0, or 0",
    );
  }
  return parsed.data;
}
