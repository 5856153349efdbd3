import type { Claims } from "@threadline/auth";
import { ERRORS, encodeWsEvent, STREAM_ERROR_CODES, type WsClientMessage } from "@threadline/protocol";
import { LOG_START, readLogTail, type ThreadSubscription } from "@threadline/redis";
import { HttpError } from "@threadline/server";
import type { Logger } from "pino";
import type WebSocket from "ws";
import { type StreamAuth, streamExpiresAtMs } from "./authorize-stream.js";
import { countDelivery, feedDeps, type StreamContext } from "./sse-stream.js";
import { streamFilterOf } from "./stream-filter.js";
import { createThreadFeed, type ThreadFeed } from "./thread-feed.js";
import { createThreadJoin, isThreadDeleted, type ThreadJoin } from "./thread-join.js";
import type { StreamEndReason, ThreadSubscriber } from "./types.js";
import type { WatcherRegistry } from "./watcher-registry.js";
import { parseWsMessage } from "./ws-message.js";
import { createWsTransport } from "./ws-transport.js";

export interface WsConnectionOptions {
  ctx: StreamContext;
  auth: StreamAuth;
  /**
   * This connection's subscriber (dedicated mode: ONE Redis connection for all its threads), closed
   * when the connection ends, after its threads.
   */
  subscriber: ThreadSubscriber;
  watchers: WatcherRegistry;
  /** The upgrade request's verified claims; a `refresh` replaces them. */
  claims: Claims;
  connectionId: string;
  reqId: string;
  /** MAX_THREADS_PER_CONNECTION */
  maxThreads: number;
  subscribeTimeoutMs: number;
  clockToleranceSeconds: number;
  /** `{type:"cancel"}`: authorized and carried out as the API's cancel is. */
  cancelRun(claims: Claims, threadId: string, runId: string): Promise<void>;
}

export interface WsConnection {
  end(reason: StreamEndReason): void;
  defer(cleanup: () => unknown): void;
}

interface Subscribed {
  /** Unsubscribed (or the connection ended) before the setup finished. */
  closed: boolean;
  feed?: ThreadFeed;
  subscription?: ThreadSubscription;
}

/**
 * One WebSocket client: its threads, each a thread feed (one resume merger) exactly as on the
 * multiplexed SSE route, all written by ONE WebSocket transport (one buffer budget, one heartbeat, one
 * token expiry, one dispose). Messages are validated with zod; every refusal is an error frame with a
 * catalog code, and only the thread it names is affected.
 */
export function createWsConnection(socket: WebSocket, options: WsConnectionOptions): WsConnection {
  const { ctx } = options;
  const log: Logger = ctx.log.child({ reqId: options.reqId, connectionId: options.connectionId });
  let claims = options.claims;
  const threads = new Map<string, Subscribed>();
  const expiresAt = (c: Claims) => streamExpiresAtMs(c, options.clockToleranceSeconds);

  const sendError = (code: string, message: string, threadId?: string, extra: object = {}) => {
    transport.send(
      JSON.stringify({ type: "error", code, message, ...(threadId ? { threadId } : {}), ...extra }),
    );
  };
  const refuse = (error: unknown, threadId?: string) => {
    if (error instanceof HttpError) return sendError(error.code, error.message, threadId);
    log.warn({ err: error, threadId }, "websocket request failed");
    sendError(ERRORS.REDIS_UNAVAILABLE.code, ERRORS.REDIS_UNAVAILABLE.message, threadId);
  };

  const transport = createWsTransport(socket, {
    log,
    metrics: ctx.metrics,
    heartbeatIntervalMs: ctx.heartbeatIntervalMs,
    maxBufferBytes: ctx.maxBufferBytes,
    heldBytes() {
      let held = 0;
      for (const entry of threads.values()) held += entry.feed?.pendingBytes ?? 0;
      return held;
    },
    expiresAtMs: expiresAt(claims),
    now: ctx.now,
    onExpired() {
      for (const threadId of threads.keys()) {
        sendError(
          STREAM_ERROR_CODES.tokenExpired,
          'the token has expired: send {"type":"refresh"} before it does, or reconnect with a new one and resume',
          threadId,
        );
      }
      transport.dispose("token_expired");
    },
  });
  transport.defer(async () => {
    for (const threadId of [...threads.keys()]) end(threadId);
    await options.subscriber.close();
  });

  /** Ends one thread's subscription (the connection goes on). */
  const end = (threadId: string) => {
    const entry = threads.get(threadId);
    if (!entry) return;
    threads.delete(threadId);
    entry.closed = true;
    entry.feed?.close();
    if (entry.subscription) {
      entry.subscription.close().catch((error: unknown) => log.debug({ err: error }, "unsubscribe failed"));
      options.watchers.remove(threadId, options.connectionId);
    }
  };

  async function subscribe(request: Extract<WsClientMessage, { type: "subscribe" }>) {
    const { threadId, after } = request;
    if (threads.has(threadId)) {
      sendError(
        ERRORS.INVALID_MESSAGE.code,
        `already subscribed to thread ${threadId}: unsubscribe first to subscribe from another position`,
        threadId,
      );
      return;
    }
    if (threads.size >= options.maxThreads) {
      sendError(
        ERRORS.TOO_MANY_THREADS.code,
        `this connection already carries ${threads.size} threads; the limit is ${options.maxThreads} (MAX_THREADS_PER_CONNECTION): unsubscribe some or open another connection`,
        threadId,
      );
      return;
    }
    // Taken before any await, so a burst of subscribes cannot overshoot the limit.
    const entry: Subscribed = { closed: false };
    threads.set(threadId, entry);
    const filter = streamFilterOf({ ...request, types: request.types && new Set(request.types) });
    const join = createThreadJoin({ resumeFrom: after, filter, snapshot: request.snapshot }, ctx.now);
    try {
      await options.auth.authorizeThread(claims, threadId);
      // A snapshot join reads the whole log (to fold it): no live-only start position.
      const liveOnly = after === undefined && !join.snapshot;
      const liveFrom = liveOnly ? await readLogTail(ctx.redis, threadId) : LOG_START;
      if (entry.closed) return;
      const feed = subscribeFeed(threadId, join);
      entry.feed = feed;
      entry.subscription = options.subscriber.subscribe(threadId, feed.handlers);
      options.watchers.add(threadId, options.connectionId);
      await withTimeout(entry.subscription.ready, options.subscribeTimeoutMs);
      if (entry.closed || transport.disposed) return;
      // Confirmed: from here on nothing published can be missed, so the client may hear so. `after`
      // is where the thread stands (the log tail for a live-only subscribe; the log's start for a
      // snapshot join, whose snapshot is still to come): the client's resume point until an event with
      // an id arrives.
      transport.send(JSON.stringify({ type: "subscribed", threadId, after: after ?? liveFrom }));
      feed.start(liveFrom);
    } catch (error) {
      if (entry.closed) return;
      if (threads.get(threadId) === entry) end(threadId);
      refuse(error, threadId);
    }
  }

  function subscribeFeed(threadId: string, join: ThreadJoin): ThreadFeed {
    return createThreadFeed(
      feedDeps(ctx),
      { threadId, resumeFrom: join.feedFrom, log: log.child({ threadId }) },
      {
        event(event, json, source) {
          if (!join.accept(event, source).deliver) return;
          transport.send(encodeWsEvent(json), source === "replay");
          if (transport.disposed) return;
          countDelivery(ctx, event, source);
          // A deleted thread has nothing more to say (as on the single-thread SSE route).
          if (isThreadDeleted(event)) end(threadId);
        },
        caughtUp() {
          const snapshot = join.caughtUp(threadId);
          // Never filtered; paced as the replay it stands for.
          if (snapshot) transport.send(encodeWsEvent(snapshot.json), true);
        },
        gap(position) {
          sendError(
            STREAM_ERROR_CODES.replayTruncated,
            `events after ${position} are no longer in the replay log; everything retained follows`,
            threadId,
            { after: position },
          );
        },
        held: () => transport.checkBudget(),
        failed(error) {
          log.error({ err: error, threadId }, "replay from the log failed");
          sendError(STREAM_ERROR_CODES.replayFailed, ERRORS.REPLAY_FAILED.message, threadId);
          end(threadId);
        },
        whenWritable: () => transport.whenWritable(),
      },
    );
  }

  async function refresh(token: string) {
    let next: Claims;
    try {
      next = options.auth.authenticate({ authorization: undefined, queryToken: token });
    } catch (error) {
      // The old token stays in force until its own expiry.
      return refuse(error);
    }
    if (next.sub !== claims.sub) {
      sendError(
        ERRORS.FORBIDDEN.code,
        `a refresh must keep the token's sub (${claims.sub}); open a new connection for another subject`,
      );
      return;
    }
    claims = next;
    transport.setExpiry(expiresAt(next));
    // Only the threads the new token no longer grants end; the others go on untouched.
    const current = [...threads.keys()];
    const results = await Promise.allSettled(current.map((t) => options.auth.authorizeThread(next, t)));
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") continue;
      const threadId = current[i] as string;
      if (!threads.has(threadId)) continue;
      end(threadId);
      refuse(result.reason, threadId);
    }
  }

  async function cancel(threadId: string, runId: string) {
    try {
      await options.cancelRun(claims, threadId, runId);
    } catch (error) {
      refuse(error, threadId);
    }
  }

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (transport.disposed) return;
    const parsed = parseWsMessage(data, isBinary);
    if (!parsed.ok) return sendError(ERRORS.INVALID_MESSAGE.code, parsed.message, parsed.threadId);
    const message: WsClientMessage = parsed.message;
    switch (message.type) {
      case "subscribe":
        return void subscribe(message);
      case "unsubscribe":
        return end(message.threadId);
      case "refresh":
        return void refresh(message.token);
      case "cancel":
        return void cancel(message.threadId, message.runId);
    }
  };
  socket.on("message", onMessage);
  transport.defer(() => socket.off("message", onMessage));

  return { end: (reason) => transport.dispose(reason), defer: (cleanup) => transport.defer(cleanup) };
}

/** Redis unreachable: the SUBSCRIBE would otherwise wait in the offline queue. */
function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Redis did not confirm the subscription in ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
