import type { ServerResponse } from "node:http";
import {
  encodeSse,
  encodeSseRetry,
  isTerminal,
  SSE_KEEPALIVE,
  STREAM_ERROR_CODES,
  type ThreadEvent,
} from "@threadline/protocol";
import {
  compareIds,
  keys,
  LOG_START,
  type RedisClient,
  readLog,
  type ThreadSubscription,
} from "@threadline/redis";
import type { Logger } from "pino";
import type { JunkReporter } from "./junk-reporter.js";
import type { GatewayMetrics } from "./metrics.js";
import type { MessageParser } from "./parse-once.js";
import type { StreamEndReason, StreamSubscriptionHandlers } from "./types.js";

/** Shared by every stream of an instance. */
export interface StreamContext {
  redis: RedisClient;
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
}

export interface SseStreamOptions {
  threadId: string;
  streamId: string;
  /** The HTTP request's id, bound into every log line of the stream. */
  reqId?: string;
  /** Last-Event-ID / `?after`: replay the log after it first. Undefined: live only. */
  resumeFrom: string | undefined;
  /** For live-only streams: the log tail read before subscribing (see readLogTail). */
  liveFrom: string;
  untilDone: boolean;
  /** When the token stops being valid (exp + clock tolerance), ms since epoch. */
  expiresAtMs: number;
  onEnd(reason: StreamEndReason): void;
}

export interface SseStream {
  /** Give these to the subscription: messages are buffered until `start`. */
  handlers: StreamSubscriptionHandlers;
  /** Sends the 200 and the stream, once the subscription is confirmed. */
  start(
    res: ServerResponse,
    headers: Record<string, string | number | string[]>,
    subscription: ThreadSubscription,
  ): void;
  end(reason: StreamEndReason): void;
  readonly ended: boolean;
}

const REPLAY_PAGE = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One SSE response. Order of business: subscribe (done by the caller), send headers and `retry:`,
 * replay the log after the resume id while live messages wait in `pending`, then drain `pending`
 * dropping what the replay already delivered (id ≤ cursor) and go live. A subscriber reconnect runs
 * the same backfill from the last delivered id, so pub/sub's gaps never reach the client. Id-less
 * (hand-published) messages are not in the log and always pass through.
 */
export function createSseStream(ctx: StreamContext, options: SseStreamOptions): SseStream {
  const { threadId } = options;
  const channel = keys.threadChannel(threadId);
  const log = ctx.log.child({ reqId: options.reqId, threadId, streamId: options.streamId });
  let res: ServerResponse | undefined;
  let subscription: ThreadSubscription | undefined;
  /** The last log position delivered (or skipped); live messages at or before it are duplicates. */
  let cursor: string | undefined = options.resumeFrom ?? options.liveFrom;
  let replaying = true;
  /** True while a backfill runs; a resubscribe meanwhile sets `replayAgain` instead of starting another. */
  let backfilling = false;
  let replayAgain = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let ended = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let wakeDrain: (() => void) | undefined;

  const unsent = () => (res ? res.writableLength : 0) + pendingBytes;
  const overBudget = () => {
    if (unsent() <= ctx.maxBufferBytes) return false;
    ctx.metrics.slowConsumerCutoffs.inc();
    log.warn(
      { unsentBytes: unsent(), limit: ctx.maxBufferBytes },
      "slow consumer cut off; it resumes with Last-Event-ID",
    );
    end("slow_consumer");
    return true;
  };
  // Judged before each write, on what is still unsent: one event larger than the bound must still go
  // out, or a client resuming in front of it would be cut off forever. Memory stays bounded by
  // SSE_MAX_BUFFER_BYTES plus one event (MAX_EVENT_BYTES).
  const write = (chunk: string) => {
    if (ended || !res || overBudget()) return;
    res.write(chunk);
  };
  const sendError = (
    code: string,
    message: string,
    retryable: boolean,
    extra: Record<string, unknown> = {},
  ) => {
    const event = {
      type: "error" as const,
      threadId,
      ts: ctx.now(),
      content: { code, message, retryable, ...extra },
    };
    write(encodeSse(event));
  };

  const deliver = (event: ThreadEvent, json: string, live: boolean) => {
    if (event.id !== undefined) {
      if (cursor !== undefined && compareIds(event.id, cursor) <= 0) return;
      cursor = event.id;
    }
    write(encodeSse(event, json));
    if (ended) return;
    ctx.metrics.eventsDelivered.inc({ source: live ? "live" : "replay" });
    if (live) ctx.metrics.deliveryLag.observe(Math.max(0, ctx.now() - event.ts) / 1000);
    else ctx.metrics.replayedEvents.inc();
    if (options.untilDone && isTerminal(event)) end("done");
  };

  const deliverRaw = (raw: Buffer | string, live: boolean) => {
    const parsed = ctx.parseMessage(channel, raw, { maxBytes: ctx.maxEventBytes, now: ctx.now });
    if (!parsed.ok) return ctx.junk.report(threadId, raw, parsed.reason, parsed.detail);
    deliver(parsed.event, parsed.json, live);
  };

  const waitForDrain = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res?.off("drain", done);
        wakeDrain = undefined;
        resolve();
      };
      wakeDrain = done;
      res?.once("drain", done);
    });

  /** Reads the log after `cursor` page by page, then flushes what arrived live meanwhile. */
  const backfill = async () => {
    if (backfilling) {
      replayAgain = true;
      return;
    }
    replaying = true;
    backfilling = true;
    try {
      do {
        replayAgain = false;
        let more = true;
        while (more && !ended) {
          const page = await readLog(ctx.redis, threadId, cursor ?? LOG_START, REPLAY_PAGE);
          if (ended) return;
          if (page.truncated) {
            sendError(
              STREAM_ERROR_CODES.replayTruncated,
              `events after ${cursor} are no longer in the replay log; everything retained follows`,
              false,
              { after: cursor },
            );
            // What follows may be older than the (unknown) position: deliver all of it.
            cursor = undefined;
          }
          for (const entry of page.entries) {
            if (ended) return;
            deliverRaw(entry.json, false);
            if (cursor === undefined || compareIds(entry.id, cursor) > 0) cursor = entry.id;
            // Per entry, not per page: a page (500 events) can exceed SSE_MAX_BUFFER_BYTES, and a
            // client resuming after a slow-consumer cut-off would be cut off again, forever.
            if (res?.writableNeedDrain && !ended) await waitForDrain();
          }
          more = page.more;
        }
      } while (replayAgain && !ended);
    } catch (error) {
      log.error({ err: error }, "replay from the log failed");
      sendError("REPLAY_FAILED", "could not read the replay log; reconnect with Last-Event-ID", true);
      end("replay_failed");
      return;
    } finally {
      backfilling = false;
    }
    goLive();
  };

  const goLive = () => {
    const queued = pending;
    pending = [];
    pendingBytes = 0;
    replaying = false;
    for (const raw of queued) {
      if (ended) return;
      deliverRaw(raw, true);
    }
  };

  const handlers: StreamSubscriptionHandlers = {
    onMessage(raw) {
      if (ended) return;
      if (!replaying) return deliverRaw(raw, true);
      pending.push(raw);
      pendingBytes += raw.length;
      overBudget();
    },
    onDisconnected() {
      // Buffer from now on: after the reconnect, live messages must wait for the backfill.
      if (!ended) replaying = true;
    },
    onResubscribed() {
      if (ended || !res) return;
      ctx.metrics.resubscribes.inc();
      log.info({ after: cursor }, "subscription restored; backfilling from the log");
      void backfill();
    },
    onError(error) {
      // Per stream, so debug: the instance's command connection already reports Redis outages.
      log.debug({ err: error }, "subscriber connection error (ioredis reconnects)");
    },
  };

  const armExpiry = () => {
    const left = options.expiresAtMs - ctx.now();
    expiry = setTimeout(
      () => {
        if (options.expiresAtMs > ctx.now()) return armExpiry();
        sendError(
          STREAM_ERROR_CODES.tokenExpired,
          "the token has expired: get a new one and resume with Last-Event-ID",
          true,
        );
        end("token_expired");
      },
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  };

  const end = (reason: StreamEndReason) => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    pending = [];
    pendingBytes = 0;
    wakeDrain?.();
    void subscription?.close();
    if (res) {
      res.off("close", onClose);
      if (reason === "slow_consumer") res.destroy();
      else if (!res.writableEnded) res.end();
    }
    log.debug({ reason }, "stream ended");
    options.onEnd(reason);
  };
  const onClose = () => end("client_closed");

  return {
    handlers,
    get ended() {
      return ended;
    },
    start(response, headers, sub) {
      res = response;
      subscription = sub;
      if (ended) {
        void sub.close();
        return;
      }
      res.on("close", onClose);
      res.writeHead(200, {
        ...headers,
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
      write(encodeSseRetry(ctx.retryMs));
      heartbeat = setInterval(() => write(SSE_KEEPALIVE), ctx.heartbeatIntervalMs);
      armExpiry();
      if (options.resumeFrom !== undefined) void backfill();
      else goLive();
    },
    end,
  };
}
