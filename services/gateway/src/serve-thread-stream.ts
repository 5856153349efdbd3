import { ERRORS } from "@threadline/protocol";
import { LOG_START, readLogTail } from "@threadline/redis";
import { HttpError, httpError } from "@threadline/server";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SseStream, StreamContext } from "./sse-stream.js";
import type { ThreadSubscriber } from "./types.js";
import type { WatcherRegistry } from "./watcher-registry.js";

/** What serving a thread stream needs; every thread stream route's options include it. */
export interface ThreadStreamOptions {
  ctx: StreamContext;
  subscriber: ThreadSubscriber;
  watchers: WatcherRegistry;
  /** Open streams, ended by the app's preClose hook. */
  streams: Set<Pick<SseStream, "end">>;
  isClosing(): boolean;
  /** How long to wait for Redis to confirm the subscription before answering 503. */
  subscribeTimeoutMs: number;
  retryAfterSeconds: number;
}

/**
 * Subscribes `stream` to its thread and, once Redis confirms, sends the 200 and starts it — the part
 * every thread stream route shares (events, ui-stream). A client that leaves, Redis failing or the
 * gateway closing before then ends the stream as abandoned (503 for the latter two). `liveOnly`
 * streams start at the log tail read before subscribing. Resolves false when the client left first.
 */
export async function serveThreadStream(
  options: ThreadStreamOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  target: { threadId: string; streamId: string; stream: SseStream; liveOnly: boolean },
): Promise<boolean> {
  const { threadId, streamId, stream } = target;
  let liveFrom = LOG_START;
  try {
    const setup = async () => {
      if (target.liveOnly) liveFrom = await readLogTail(options.ctx.redis, threadId);
      if (stream.ended) return;
      const subscription = options.subscriber.subscribe(threadId, stream.handlers);
      stream.defer(() => subscription.close());
      await subscription.ready;
    };
    const gone = await settleUnlessGone(setup(), request, options.subscribeTimeoutMs);
    if (gone) {
      stream.end("abandoned");
      reply.hijack();
      return false;
    }
    // Thrown into the catch below, which abandons the setup and rethrows it.
    if (options.isClosing()) {
      throw httpError(
        ERRORS.SHUTTING_DOWN,
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
    throw httpError(
      ERRORS.REDIS_UNAVAILABLE,
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
  stream.start(reply.raw, reply.getHeaders() as Record<string, string>, liveFrom);
  return true;
}

/**
 * Waits for the setup (log tail read, subscription confirmed by Redis). Resolves true if the client
 * left first; rejects on a Redis error or after `timeoutMs` (Redis unreachable: the commands would
 * otherwise wait in the offline queue).
 */
export function settleUnlessGone(
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

export function retryAfter(options: Pick<ThreadStreamOptions, "retryAfterSeconds">) {
  return { "retry-after": String(options.retryAfterSeconds) };
}
