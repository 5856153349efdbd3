import { randomBytes } from "node:crypto";
import { EventId, ThreadId } from "@threadline/protocol";
import { LOG_START } from "@threadline/redis";
import { HttpError } from "@threadline/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Admission } from "./admission.js";
import type { StreamAuthorizer } from "./authorize-stream.js";
import { readLogTail } from "./log-tail.js";
import { createSseStream, type SseStream, type StreamContext } from "./sse-stream.js";
import type { ThreadSubscriber } from "./types.js";
import type { WatcherRegistry } from "./watcher-registry.js";

export interface EventsRouteOptions {
  ctx: StreamContext;
  subscriber: ThreadSubscriber;
  authorize: StreamAuthorizer;
  admission: Admission;
  watchers: WatcherRegistry;
  /** Open streams, ended by the app's preClose hook. */
  streams: Set<SseStream>;
  isClosing(): boolean;
  clockToleranceSeconds: number;
  /** How long to wait for Redis to confirm the subscription before answering 503. */
  subscribeTimeoutMs: number;
  retryAfterSeconds: number;
}

/** A resume position: a log id, or `0` for everything retained. */
const ResumeId = z.union([z.literal(LOG_START), EventId]);
const EventsQuery = z.looseObject({
  access_token: z.string().optional(),
  after: ResumeId.optional(),
  until: z.literal("done", { error: 'the only value is "done"' }).optional(),
});

/** `GET /v1/threads/:threadId/events`: the SSE stream of a thread (see ARCHITECTURE.md, Gateway HTTP contract). */
export async function eventsRoute(app: FastifyInstance, options: EventsRouteOptions): Promise<void> {
  const instanceId = randomBytes(6).toString("hex");
  let streamCount = 0;

  // No automatic HEAD twin: a HEAD must not open (and hold) a subscription.
  app.get("/v1/threads/:threadId/events", { exposeHeadRoute: false }, async (request, reply) => {
    const { threadId, resumeFrom, untilDone, queryToken } = parseRequest(request);
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
      expiresAtMs: (claims.exp + options.clockToleranceSeconds) * 1000,
    });
    // Everything this stream holds is released through its one dispose path, however it ends
    // (including a setup the client or Redis abandoned before the 200).
    stream.defer(() => lease.release());
    let liveFrom = LOG_START;
    try {
      const setup = async () => {
        if (resumeFrom === undefined) liveFrom = await readLogTail(options.ctx.redis, threadId);
        if (stream.ended) return;
        const subscription = options.subscriber.subscribe(threadId, stream.handlers);
        stream.defer(() => subscription.close());
        await subscription.ready;
      };
      const gone = await settleUnlessGone(setup(), request, options.subscribeTimeoutMs);
      if (gone) {
        stream.end("abandoned");
        return reply.hijack();
      }
      // Thrown into the catch below, which abandons the setup and rethrows it.
      if (options.isClosing()) {
        throw new HttpError(
          503,
          "SHUTTING_DOWN",
          "this gateway is shutting down; reconnect",
          undefined,
          retryAfter(options),
        );
      }
    } catch (error) {
      stream.end("abandoned");
      if (error instanceof HttpError) throw error;
      request.log.warn({ err: error, threadId }, "could not subscribe");
      options.ctx.metrics.rejectedStreams.inc({ reason: "redis_unavailable" });
      throw new HttpError(
        503,
        "REDIS_UNAVAILABLE",
        "cannot reach Redis; retry shortly",
        undefined,
        retryAfter(options),
      );
    }
    // Subscribed: from here on nothing published can be missed, so the client may see the 200.
    reply.hijack();
    options.streams.add(stream);
    options.ctx.metrics.openStreams.inc();
    options.watchers.add(threadId, streamId);
    stream.defer(() => {
      options.watchers.remove(threadId, streamId);
      options.streams.delete(stream);
      options.ctx.metrics.openStreams.dec();
    });
    request.log.debug({ threadId, streamId, sub: claims.sub, resumeFrom }, "stream opened");
    stream.start(reply.raw, reply.getHeaders() as Record<string, string>, liveFrom);
  });
}

function parseRequest(request: FastifyRequest) {
  const params = request.params as { threadId?: string };
  const thread = ThreadId.safeParse(params.threadId);
  if (!thread.success) {
    throw new HttpError(400, "INVALID_THREAD_ID", `thread id ${thread.error.issues[0]?.message}`);
  }
  const query = EventsQuery.safeParse(request.query ?? {});
  if (!query.success) {
    const details = query.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    throw new HttpError(
      400,
      "INVALID_QUERY",
      "invalid query parameters: after=<event id>|0, until=done",
      details,
    );
  }
  const header = request.headers["last-event-id"];
  let resumeFrom = query.data.after;
  if (header !== undefined && header !== "") {
    const parsed = ResumeId.safeParse(header);
    if (!parsed.success) {
      throw new HttpError(
        400,
        "INVALID_LAST_EVENT_ID",
        "Last-Event-ID must be an event id like 1700000000000-0, or 0",
      );
    }
    resumeFrom = parsed.data;
  }
  return {
    threadId: thread.data,
    resumeFrom,
    untilDone: query.data.until === "done",
    queryToken: query.data.access_token,
  };
}

/**
 * Waits for the setup (log tail read, subscription confirmed by Redis). Resolves true if the client
 * left first; rejects on a Redis error or after `timeoutMs` (Redis unreachable: the commands would
 * otherwise wait in the offline queue).
 */
function settleUnlessGone(
  setup: Promise<void>,
  request: FastifyRequest,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = request.raw.socket;
    const onGone = () => finish(() => resolve(true));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`Redis did not confirm the subscription in ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      socket.off("close", onGone);
      settle();
    };
    socket.once("close", onGone);
    setup.then(
      () => finish(() => resolve(socket.destroyed)),
      (error: Error) => finish(() => reject(error)),
    );
  });
}

function retryAfter(options: EventsRouteOptions) {
  return { "retry-after": String(options.retryAfterSeconds) };
}
