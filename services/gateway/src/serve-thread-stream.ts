import type { ServerResponse } from "node:http";
import { ERRORS } from "@threadline/protocol";
import { LOG_START, readLogTail } from "@threadline/redis";
import { HttpError, httpError } from "@threadline/server";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Lease } from "./admission.js";
import type { SseStream, StreamContext } from "./sse-stream.js";
import type { StreamSubscriptionHandlers, ThreadSubscriber } from "./types.js";
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

/** One thread of a served stream: the handlers its subscription feeds. */
export interface ServedThread {
  threadId: string;
  handlers: StreamSubscriptionHandlers;
  /** Starts at the log tail read before subscribing (no resume position, no snapshot join). */
  liveOnly: boolean;
}

/**
 * Subscribes a stream's threads and, once Redis confirms every subscription, sends the 200 and starts
 * it — the part every SSE stream route shares (events, ui-stream, multiplexed events). A client that
 * leaves, Redis failing or the gateway closing before then ends the stream as abandoned (503 for the
 * latter two). Resolves false when the client left first.
 */
export async function serveStream(
  options: ThreadStreamOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  target: {
    streamId: string;
    /** The stream's admission slot: released through the stream's one dispose path, however it ends. */
    lease: Lease;
    /** A stream over those threads (SseStream, UiStream, MultiplexStream). */
    stream: Pick<SseStream, "defer" | "end" | "ended">;
    threads: ServedThread[];
    /** Sends the 200 and the stream; `liveFrom[i]`: thread i's start (LOG_START unless live-only). */
    start(res: ServerResponse, headers: Record<string, string>, liveFrom: string[]): void;
    subscriber: ThreadSubscriber;
    /** Bound into the warning when subscribing fails. */
    logContext: Record<string, unknown>;
  },
): Promise<boolean> {
  const { streamId, stream, threads } = target;
  // Deferred first, so it is released even when the client or Redis abandons the setup before the 200.
  stream.defer(() => target.lease.release());
  const liveFrom = threads.map(() => LOG_START);
  try {
    const setup = async () => {
      const tails = await Promise.all(
        threads.map((t) => (t.liveOnly ? readLogTail(options.ctx.redis, t.threadId) : LOG_START)),
      );
      liveFrom.splice(0, liveFrom.length, ...tails);
      if (stream.ended) return;
      const subscriptions = threads.map(({ threadId, handlers }) => {
        const subscription = target.subscriber.subscribe(threadId, handlers);
        stream.defer(() => subscription.close());
        return subscription.ready;
      });
      await Promise.all(subscriptions);
    };
    const gone = await settleUnlessGone(setup(), request, options.subscribeTimeoutMs);
    if (gone) {
      stream.end("abandoned");
      reply.hijack();
      return false;
    }
    // Thrown into the catch below, which abandons the setup and rethrows it.
    if (options.isClosing()) {
      throw httpError(ERRORS.SHUTTING_DOWN, undefined, undefined, retryAfter(options));
    }
  } catch (error) {
    stream.end("abandoned");
    if (error instanceof HttpError) throw error;
    request.log.warn({ err: error, ...target.logContext }, "could not subscribe");
    options.ctx.metrics.rejectedStreams.inc({ reason: "redis_unavailable" });
    throw httpError(ERRORS.REDIS_UNAVAILABLE, undefined, undefined, retryAfter(options));
  }
  // Subscribed: from here on nothing published can be missed, so the client may see the 200.
  reply.hijack();
  options.streams.add(stream);
  options.ctx.metrics.openStreams.inc();
  for (const { threadId } of threads) options.watchers.add(threadId, streamId);
  stream.defer(() => {
    for (const { threadId } of threads) options.watchers.remove(threadId, streamId);
    options.streams.delete(stream);
    options.ctx.metrics.openStreams.dec();
  });
  target.start(reply.raw, reply.getHeaders() as Record<string, string>, liveFrom);
  return true;
}

/** `serveStream` for a single-thread stream (events, ui-stream) on the instance's shared subscriber. */
export function serveThreadStream(
  options: ThreadStreamOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  target: { threadId: string; streamId: string; stream: SseStream; lease: Lease; liveOnly: boolean },
): Promise<boolean> {
  const { threadId, streamId, stream, lease, liveOnly } = target;
  return serveStream(options, request, reply, {
    streamId,
    lease,
    stream,
    threads: [{ threadId, handlers: stream.handlers, liveOnly }],
    start: (res, headers, [liveFrom]) => stream.start(res, headers, liveFrom ?? LOG_START),
    subscriber: options.subscriber,
    logContext: { threadId },
  });
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
