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
import {
  createThreadFeed,
  type ThreadFeed,
  type ThreadFeedDeps,
  type ThreadFeedSink,
} from "./thread-feed.js";
import { createThreadJoin, isThreadDeleted, type ThreadJoin } from "./thread-join.js";
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
  return new SingleThreadStream(ctx, options);
}

/**
 * A class, not a closure (one prototype for every stream: idle memory, BENCHMARKS round 5). It is its
 * feed's sink and tells its transport what the feed holds back.
 */
class SingleThreadStream implements SseStream, ThreadFeedSink {
  private readonly transport: SseTransport;
  private readonly join: ThreadJoin;
  private readonly feed: ThreadFeed;
  private readonly log: Logger;

  constructor(
    private readonly ctx: StreamContext,
    private readonly options: SseStreamOptions,
  ) {
    const { threadId } = options;
    this.log = ctx.log.child({ reqId: options.reqId, threadId, streamId: options.streamId });
    this.transport = createStreamTransport(ctx, this.log, {
      heldBytes: () => this.feed.pendingBytes,
      expiresAtMs: options.expiresAtMs,
      sayExpired: () => this.sendNotice(NOTICES.tokenExpired),
    });
    this.join = createThreadJoin(options, ctx.now);
    this.feed = createThreadFeed(
      feedDeps(ctx),
      { threadId, resumeFrom: this.join.feedFrom, log: this.log },
      this,
    );
    this.transport.defer(() => this.feed.close());
  }

  get handlers(): StreamSubscriptionHandlers {
    return this.feed.handlers;
  }

  get ended(): boolean {
    return this.transport.disposed;
  }

  start(res: ServerResponse, headers: Record<string, string | number | string[]>, liveFrom: string): void {
    const { transport, options } = this;
    if (transport.disposed) return;
    transport.open(res, headers);
    // A live-only join has no position until its first event: an id-only frame says where it
    // joined, so an EventSource that drops before any event resumes from there, losing nothing.
    if (options.resumeFrom === undefined && !this.join.snapshot) transport.send(encodeSsePosition(liveFrom));
    this.feed.start(liveFrom);
  }

  defer(cleanup: () => unknown): void {
    this.transport.defer(cleanup);
  }

  end(reason: StreamEndReason): void {
    this.transport.dispose(reason);
  }

  // The feed's sink.

  event(event: ThreadEvent, json: string, source: "live" | "replay"): void {
    const { transport, ctx, options } = this;
    const { deliver, ends } = this.join.accept(event, source);
    if (deliver) {
      transport.send(ctx.frameEvent(event, json, options.framing), source === "replay");
      if (transport.disposed) return;
      countDelivery(ctx, event, source);
      // A deleted thread has nothing more to say: its streams end after the error.
      if (isThreadDeleted(event)) {
        transport.dispose("done");
        return;
      }
    }
    // `until=done` ends at the followed run's end, even when the filter does not deliver it.
    if (ends && options.untilDone) transport.dispose("done");
  }

  gap(after: string): void {
    this.sendNotice(NOTICES.replayTruncated(after));
  }

  held(): void {
    this.transport.checkBudget();
  }

  failed(error: unknown): void {
    this.log.error({ err: error }, "replay from the log failed");
    this.sendNotice(NOTICES.replayFailed);
    this.transport.dispose("replay_failed");
  }

  whenWritable(): Promise<void> {
    return this.transport.whenWritable();
  }

  caughtUp(): void {
    const snapshot = this.join.caughtUp(this.options.threadId);
    if (!snapshot) return;
    // Never filtered: the client asked for it. Paced as the replay it stands for.
    this.transport.send(encodeSse(snapshot.event, snapshot.json, this.options.framing), true);
    if (this.options.untilDone && snapshot.finished) this.transport.dispose("done");
  }

  private sendNotice(notice: StreamNotice): void {
    this.transport.send(
      encodeStreamNotice(this.options.threadId, this.ctx.now(), this.options.framing, notice),
    );
  }
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
