import type { ThreadEvent } from "@threadline/protocol";
import { keys } from "@threadline/redis";
import type { Logger } from "pino";
import type { JunkReporter } from "./junk-reporter.js";
import type { GatewayMetrics } from "./metrics.js";
import type { MessageParser } from "./parse-once.js";
import {
  createResumeMerger,
  type Delivery,
  type MergerSink,
  type ReplayPage,
  type ResumeMerger,
} from "./resume-merger.js";
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
  return new SubscribedFeed(deps, options, sink);
}

/**
 * A class, not a closure (one prototype for every stream's feed: idle memory, BENCHMARKS round 5). It
 * is its own subscription's handlers and its merger's sink.
 */
class SubscribedFeed implements ThreadFeed, StreamSubscriptionHandlers, MergerSink {
  private readonly channel: string;
  private readonly parseOptions: { maxBytes: number; now: () => number };
  private readonly merger: ResumeMerger;
  private started = false;
  private restoredBeforeStart = false;
  private closed = false;

  constructor(
    private readonly deps: ThreadFeedDeps,
    private readonly options: { threadId: string; resumeFrom: string | undefined; log: Logger },
    private readonly out: ThreadFeedSink,
  ) {
    this.channel = keys.threadChannel(options.threadId);
    this.parseOptions = { maxBytes: deps.maxEventBytes, now: deps.now };
    this.merger = createResumeMerger({ resumeFrom: options.resumeFrom }, this);
  }

  get handlers(): StreamSubscriptionHandlers {
    return this;
  }

  get pendingBytes(): number {
    return this.merger.pendingBytes;
  }

  start(liveFrom: string): void {
    if (this.closed || this.started) return;
    this.started = true;
    this.merger.start(liveFrom);
    if (this.restoredBeforeStart) this.onResubscribed();
  }

  close(): void {
    this.closed = true;
  }

  // The subscription's handlers.

  onMessage(raw: Buffer | string): void {
    if (this.closed) return;
    const parsed = this.deps.parseMessage(this.channel, raw, this.parseOptions);
    if (!parsed.ok) {
      this.deps.junk.report(this.options.threadId, raw, parsed.reason, parsed.detail);
      return;
    }
    this.merger.live({ event: parsed.event, json: parsed.json, bytes: raw.length });
    if (this.merger.buffering) this.out.held();
  }

  onDisconnected(): void {
    // Hold live messages from now on: after the reconnect they must wait for the backfill.
    if (!this.closed) this.merger.lost();
  }

  onResubscribed(): void {
    if (this.closed) return;
    if (!this.started) {
      this.restoredBeforeStart = true;
      return;
    }
    this.deps.metrics.resubscribes.inc();
    this.options.log.info({ after: this.merger.position }, "subscription restored; backfilling from the log");
    this.merger.restored();
  }

  onError(error: Error): void {
    // Per stream, so debug: the instance's command connection already reports Redis outages.
    this.options.log.debug({ err: error }, "subscriber connection error (ioredis reconnects)");
  }

  // The merger's sink.

  send(delivery: Delivery): void {
    if (delivery.source === "live") {
      this.out.event(delivery.event, delivery.json, "live");
      return;
    }
    const parsed = this.deps.parseMessage(this.channel, delivery.json, this.parseOptions);
    if (!parsed.ok) {
      this.deps.junk.report(this.options.threadId, delivery.json, parsed.reason, parsed.detail);
      return;
    }
    this.out.event(parsed.event, parsed.json, "replay");
  }

  gap(after: string): void {
    this.out.gap(after);
  }

  read(after: string): void {
    void this.readPage(after);
  }

  caughtUp(): void {
    this.out.caughtUp?.();
  }

  /** One log page at a time, each once the transport has written the previous one. */
  private async readPage(after: string): Promise<void> {
    try {
      await this.out.whenWritable();
      if (this.closed) return;
      const page = await this.deps.readLog(this.options.threadId, after, REPLAY_PAGE);
      if (!this.closed) this.merger.page(page);
    } catch (error) {
      if (!this.closed) this.out.failed(error);
    }
  }
}
