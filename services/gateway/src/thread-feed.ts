import type { ThreadEvent } from "@threadline/protocol";
import { keys } from "@threadline/redis";
import type { Logger } from "pino";
import type { JunkReporter } from "./junk-reporter.js";
import type { GatewayMetrics } from "./metrics.js";
import type { MessageParser } from "./parse-once.js";
import { createResumeMerger, type Delivery, type ReplayPage } from "./resume-merger.js";
import type { StreamSubscriptionHandlers } from "./types.js";

/** Shared by every feed of an instance. */
export interface ThreadFeedDeps {
  /** Reads the replay log after `afterId`; the page carries the entry at `afterId` as `anchor`. */
  readLog(threadId: string, afterId: string, limit: number): Promise<ReplayPage>;
  parseMessage: MessageParser;
  junk: JunkReporter;
  metrics: Pick<GatewayMetrics, "resubscribes">;
  maxEventBytes: number;
  now: () => number;
}

/** Where a feed's output goes: one transport (SSE today; multiplexed SSE and WebSocket next). */
export interface ThreadFeedSink {
  event(event: ThreadEvent, json: string, source: "live" | "replay"): void;
  /** REPLAY_TRUNCATED: events after `after` are gone from the log; everything retained follows. */
  gap(after: string): void;
  /** A live message was held back (replay running): the transport re-checks its buffer budget. */
  held(): void;
  /** The log could not be read: the feed stops. */
  failed(error: unknown): void;
  /** Resolves when the transport has written out what it was given: the next replay page may come. */
  whenWritable(): Promise<void>;
  /** The replay caught up with the live stream (after the first replay, and after every backfill). */
  caughtUp?(): void;
}

export interface ThreadFeed {
  /** Give these to the subscription: messages are held back until `start`. */
  handlers: StreamSubscriptionHandlers;
  /** The subscription is confirmed: replay (if resuming), then go live. */
  start(liveFrom: string): void;
  /** Bytes of live messages held back, for the transport's buffer budget. */
  readonly pendingBytes: number;
  close(): void;
}

const REPLAY_PAGE = 500;

/**
 * One thread's events for one client: the subscription's callbacks and the replay log, through a
 * resume merger (which decides order and duplicates), into a transport. This is the I/O half the merger
 * leaves out: parsing channel messages, reading log pages (one at a time, each once the transport has
 * written the previous one, so a long replay never outruns a slow client), and reporting junk.
 */
export function createThreadFeed(
  deps: ThreadFeedDeps,
  options: { threadId: string; resumeFrom: string | undefined; log: Logger },
  sink: ThreadFeedSink,
): ThreadFeed {
  const { threadId, log } = options;
  const channel = keys.threadChannel(threadId);
  const parseOptions = { maxBytes: deps.maxEventBytes, now: deps.now };
  let started = false;
  let restoredBeforeStart = false;
  let closed = false;

  const send = (delivery: Delivery) => {
    if (delivery.source === "live") return sink.event(delivery.event, delivery.json, "live");
    const parsed = deps.parseMessage(channel, delivery.json, parseOptions);
    if (!parsed.ok) return deps.junk.report(threadId, delivery.json, parsed.reason, parsed.detail);
    sink.event(parsed.event, parsed.json, "replay");
  };

  const read = async (after: string) => {
    try {
      await sink.whenWritable();
      if (closed) return;
      const page = await deps.readLog(threadId, after, REPLAY_PAGE);
      if (!closed) merger.page(page);
    } catch (error) {
      if (!closed) sink.failed(error);
    }
  };

  const merger = createResumeMerger(
    { resumeFrom: options.resumeFrom },
    {
      send,
      gap: (after) => sink.gap(after),
      read: (after) => void read(after),
      caughtUp: () => sink.caughtUp?.(),
    },
  );

  const handlers: StreamSubscriptionHandlers = {
    onMessage(raw) {
      if (closed) return;
      const parsed = deps.parseMessage(channel, raw, parseOptions);
      if (!parsed.ok) return deps.junk.report(threadId, raw, parsed.reason, parsed.detail);
      merger.live({ event: parsed.event, json: parsed.json, bytes: raw.length });
      if (merger.buffering) sink.held();
    },
    onDisconnected() {
      // Hold live messages from now on: after the reconnect they must wait for the backfill.
      if (!closed) merger.lost();
    },
    onResubscribed() {
      if (closed) return;
      if (!started) {
        restoredBeforeStart = true;
        return;
      }
      deps.metrics.resubscribes.inc();
      log.info({ after: merger.position }, "subscription restored; backfilling from the log");
      merger.restored();
    },
    onError(error) {
      // Per stream, so debug: the instance's command connection already reports Redis outages.
      log.debug({ err: error }, "subscriber connection error (ioredis reconnects)");
    },
  };

  return {
    handlers,
    start(liveFrom) {
      if (closed || started) return;
      started = true;
      merger.start(liveFrom);
      if (restoredBeforeStart) handlers.onResubscribed?.();
    },
    get pendingBytes() {
      return merger.pendingBytes;
    },
    close() {
      closed = true;
    },
  };
}
