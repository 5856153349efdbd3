import type { ServerResponse } from "node:http";
import type { ReadPage } from "@threadline/archive";
import { encodeSse, encodeSsePosition, type SseFraming, type ThreadEvent } from "@threadline/protocol";
import type { RedisClient } from "@threadline/redis";
import type { Logger } from "pino";
import type { EventFramer } from "./frame-once.js";
import type { JunkReporter } from "./junk-reporter.js";
import type { GatewayMetrics } from "./metrics.js";
import type { MessageParser } from "./parse-once.js";
import { createSseTransport, type SseTransport } from "./sse-transport.js";
import type { StreamFilter } from "./stream-filter.js";
import { encodeStreamNotice, NOTICES, type StreamNotice } from "./stream-notices.js";
import { createThreadFeed, type ThreadFeedDeps } from "./thread-feed.js";
import { createThreadJoin, isThreadDeleted } from "./thread-join.js";
import type { StreamEndReason, StreamSubscriptionHandlers } from "./types.js";

/** Shared by every stream of an instance. */
export interface StreamContext {
  redis: RedisClient;
  /** Reads the thread's log after a position: the archive for what Redis lost, then Redis. */
  readPage: ReadPage;
  log: Logger;
  metrics: GatewayMetrics;
  junk: JunkReporter;
  retryMs: number;
  heartbeatIntervalMs: number;
  maxBufferBytes: number;
  maxEventBytes: number;
  now: () => number;
  /** parseChannelMessage, memoised across the streams of an instance (parse-once.ts). */
  parseMessage: MessageParser;
  /** encodeSse as bytes, memoised across the streams of an instance (frame-once.ts). */
  frameEvent: EventFramer;
}

export interface SseStreamOptions {
  threadId: string;
  streamId: string;
  /** The HTTP request's id, bound into every log line of the stream. */
  reqId?: string;
  /** Last-Event-ID / `?after`: replay the log after it first. Undefined: live only. */
  resumeFrom: string | undefined;
  untilDone: boolean;
  /** `?format=message`: unnamed frames, for EventSource's `onmessage`. */
  framing: SseFraming;
  /** `?types=&runId=&agent=`: only matching events are sent (replay and live alike). */
  filter?: StreamFilter;
  /**
   * `?snapshot=1` without a resume position: the log is folded into one `snapshot` delta (the run's
   * state so far), sent before the live events that follow it.
   */
  snapshot?: boolean;
  /** When the token stops being valid (exp + clock tolerance), ms since epoch. */
  expiresAtMs: number;
}

export interface SseStream {
  /** Give these to the subscription: messages are held back until `start`. */
  handlers: StreamSubscriptionHandlers;
  /**
   * Sends the 200 and the stream, once the subscription is confirmed. `liveFrom`: for a live-only
   * stream, the log tail read before subscribing (see readLogTail).
   */
  start(res: ServerResponse, headers: Record<string, string | number | string[]>, liveFrom: string): void;
  /** Runs `cleanup` when the stream ends, however it ends (at once if it already has). */
  defer(cleanup: () => unknown): void;
  /** Ends the stream: the one dispose path. */
  end(reason: StreamEndReason): void;
  readonly ended: boolean;
}

/**
 * One single-thread SSE response: a thread feed (subscription + replay log through the resume merger)
 * written by an SSE transport. Order of business: subscribe (done by the caller), send headers and
 * `retry:`, replay the log after the resume id while live messages are held back, then go live with no
 * gap and no duplicate; a subscriber reconnect backfills the same way.
 */
export function createSseStream(ctx: StreamContext, options: SseStreamOptions): SseStream {
  const { threadId } = options;
  const log = ctx.log.child({ reqId: options.reqId, threadId, streamId: options.streamId });

  const sendNotice = (notice: StreamNotice) =>
    transport.send(encodeStreamNotice(threadId, ctx.now(), options.framing, notice));

  const transport = createStreamTransport(ctx, log, {
    heldBytes: () => feed.pendingBytes,
    expiresAtMs: options.expiresAtMs,
    sayExpired: () => sendNotice(NOTICES.tokenExpired),
  });

  const join = createThreadJoin(options, ctx.now);
  const feed = createThreadFeed(
    feedDeps(ctx),
    { threadId, resumeFrom: join.feedFrom, log },
    {
      event(event, json, source) {
        const { deliver, ends } = join.accept(event, source);
        if (deliver) {
          transport.send(ctx.frameEvent(event, json, options.framing), source === "replay");
          if (transport.disposed) return;
          countDelivery(ctx, event, source);
          // A deleted thread has nothing more to say: its streams end after the error.
          if (isThreadDeleted(event)) return transport.dispose("done");
        }
        // `until=done` ends at the followed run's end, even when the filter does not deliver it.
        if (ends && options.untilDone) transport.dispose("done");
      },
      gap: (after) => sendNotice(NOTICES.replayTruncated(after)),
      held: () => transport.checkBudget(),
      failed(error) {
        log.error({ err: error }, "replay from the log failed");
        sendNotice(NOTICES.replayFailed);
        transport.dispose("replay_failed");
      },
      whenWritable: () => transport.whenWritable(),
      caughtUp() {
        const snapshot = join.caughtUp(threadId);
        if (!snapshot) return;
        // Never filtered: the client asked for it. Paced as the replay it stands for.
        transport.send(encodeSse(snapshot.event, snapshot.json, options.framing), true);
        if (options.untilDone && snapshot.finished) transport.dispose("done");
      },
    },
  );
  transport.defer(() => feed.close());

  return {
    handlers: feed.handlers,
    start(res, headers, liveFrom) {
      if (transport.disposed) return;
      transport.open(res, headers);
      // A live-only join has no position until its first event: an id-only frame says where it
      // joined, so an EventSource that drops before any event resumes from there, losing nothing.
      if (options.resumeFrom === undefined && !join.snapshot) transport.send(encodeSsePosition(liveFrom));
      feed.start(liveFrom);
    },
    defer: (cleanup) => transport.defer(cleanup),
    end: (reason) => transport.dispose(reason),
    get ended() {
      return transport.disposed;
    },
  };
}

/**
 * The SSE transport of one client response, with the instance's settings. On token expiry it lets the
 * stream `sayExpired` in its own framing, then ends it: every SSE stream closes the same way.
 */
export function createStreamTransport(
  ctx: StreamContext,
  log: Logger,
  options: { heldBytes(): number; expiresAtMs: number; sayExpired(): void },
): SseTransport {
  const transport = createSseTransport({
    log,
    metrics: ctx.metrics,
    retryMs: ctx.retryMs,
    heartbeatIntervalMs: ctx.heartbeatIntervalMs,
    maxBufferBytes: ctx.maxBufferBytes,
    heldBytes: options.heldBytes,
    expiresAtMs: options.expiresAtMs,
    now: ctx.now,
    onExpired() {
      options.sayExpired();
      transport.dispose("token_expired");
    },
  });
  return transport;
}

/** What every thread feed of a stream needs from the gateway (one feed per thread, any transport). */
export function feedDeps(ctx: StreamContext): ThreadFeedDeps {
  return {
    readLog: (id, after, limit) => ctx.readPage(id, after, limit),
    parseMessage: ctx.parseMessage,
    junk: ctx.junk,
    metrics: ctx.metrics,
    maxEventBytes: ctx.maxEventBytes,
    now: ctx.now,
  };
}

/** Counts one event written to a client: live (with its delivery lag) or replayed. */
export function countDelivery(ctx: StreamContext, event: ThreadEvent, source: "live" | "replay"): void {
  if (source === "live") {
    ctx.metrics.liveDelivered.inc();
    ctx.metrics.deliveryLag.observe(Math.max(0, ctx.now() - event.ts) / 1000);
  } else {
    ctx.metrics.replayDelivered.inc();
    ctx.metrics.replayedEvents.inc();
  }
}
