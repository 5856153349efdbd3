import type { ServerResponse } from "node:http";
import { encodeSse, encodeVector, type SseFraming, type ThreadEvent, vectorTag } from "@threadline/protocol";
import { compareIds, LOG_START } from "@threadline/redis";
import { countDelivery, createStreamTransport, feedDeps, type StreamContext } from "./sse-stream.js";
import type { StreamFilter } from "./stream-filter.js";
import { encodeStreamNotice, NOTICES, type StreamNotice } from "./stream-notices.js";
import { createThreadFeed, type ThreadFeed } from "./thread-feed.js";
import { createThreadJoin, isThreadDeleted } from "./thread-join.js";
import type { StreamEndReason, StreamSubscriptionHandlers } from "./types.js";

export interface MultiplexStreamOptions {
  /** The `?threads=` list, in its order (the position vector follows it). */
  threads: string[];
  streamId: string;
  reqId?: string;
  /**
   * The decoded position vector (one log id per thread): replay after each first. Undefined (the whole
   * vector, or one thread's position): live only — or, with `snapshot`, a snapshot join.
   */
  resumeFrom: (string | undefined)[] | undefined;
  /** `?types=&runId=&agent=`, applied to every thread (replay and live alike). */
  filter?: StreamFilter;
  /** `?snapshot=1`: each thread without a position joins with a snapshot of its run so far. */
  snapshot?: boolean;
  /** End once every thread has delivered a terminal event. */
  untilDone: boolean;
  /** `?format=message`: unnamed frames, for EventSource's `onmessage`. */
  framing: SseFraming;
  expiresAtMs: number;
}

export interface MultiplexStream {
  /** Give `handlers[i]` to thread i's subscription: messages are held back until `start`. */
  handlers: StreamSubscriptionHandlers[];
  /**
   * Sends the 200 and the stream once every subscription is confirmed. `liveFrom[i]`: for a live-only
   * thread, its log tail read before subscribing (LOG_START for a thread with a position).
   */
  start(res: ServerResponse, headers: Record<string, string | number | string[]>, liveFrom: string[]): void;
  defer(cleanup: () => unknown): void;
  end(reason: StreamEndReason): void;
  readonly ended: boolean;
}

/**
 * Many threads on one SSE response: one thread feed (and so one resume merger) per thread, all written
 * by ONE SSE transport (one buffer budget, one heartbeat, one token expiry, one dispose). Each event is
 * framed as on the single-thread route, except that its `id:` is the connection's position vector
 * (position-vector.ts), so the browser's automatic Last-Event-ID resumes every thread.
 */
export function createMultiplexStream(ctx: StreamContext, options: MultiplexStreamOptions): MultiplexStream {
  const { threads } = options;
  const log = ctx.log.child({ reqId: options.reqId, streamId: options.streamId, threads: threads.length });
  const tag = vectorTag(threads);
  const joins = threads.map((_, i) =>
    createThreadJoin(
      { resumeFrom: options.resumeFrom?.[i], filter: options.filter, snapshot: options.snapshot },
      ctx.now,
    ),
  );
  /**
   * Where each thread stands: the last log id delivered (or the stream's starting point). None (an empty
   * vector entry) while a snapshot join's snapshot is still to come: a resume then joins it again.
   */
  const positions: (string | undefined)[] = threads.map((_, i) =>
    joins[i]?.snapshot ? undefined : (options.resumeFrom?.[i] ?? LOG_START),
  );
  const done = threads.map(() => false);
  let doneCount = 0;
  /** Threads whose THREAD_DELETED was delivered: their feeds are closed. */
  const deleted = threads.map(() => false);
  let deletedCount = 0;

  const sendNotice = (threadId: string, notice: StreamNotice) =>
    transport.send(encodeStreamNotice(threadId, ctx.now(), options.framing, notice));

  const feeds: ThreadFeed[] = [];
  const transport = createStreamTransport(ctx, log, {
    heldBytes: () => feeds.reduce((sum, feed) => sum + feed.pendingBytes, 0),
    expiresAtMs: options.expiresAtMs,
    sayExpired() {
      // Every thread's client-side handler hears it: each error carries its threadId.
      for (const threadId of threads) sendNotice(threadId, NOTICES.tokenExpired);
    },
  });

  const send = (index: number, event: Pick<ThreadEvent, "type" | "id">, json: string, paced: boolean) => {
    const { id } = event;
    // Monotonic per thread: a hand-published older id never moves a thread's resume point back.
    const position = positions[index];
    if (id !== undefined && (position === undefined || compareIds(id, position) > 0)) positions[index] = id;
    const frameId = id === undefined ? undefined : encodeVector(tag, positions);
    transport.send(encodeSse({ type: event.type, id: frameId }, json, options.framing), paced);
  };

  const markDone = (index: number) => {
    if (options.untilDone && !done[index]) {
      done[index] = true;
      doneCount += 1;
    }
    if (deletedCount === threads.length || (options.untilDone && doneCount === threads.length)) {
      transport.dispose("done");
    }
  };

  const deliver = (index: number, event: ThreadEvent, json: string, source: "live" | "replay") => {
    if (deleted[index]) return; // the rest of a replay page the feed read before it was closed
    const { deliver: wanted, ends } = joins[index]!.accept(event, source);
    if (wanted) {
      send(index, event, json, source === "replay");
      if (transport.disposed) return;
      countDelivery(ctx, event, source);
      if (isThreadDeleted(event)) {
        // As on the single-thread route, a deleted thread's stream ends after the error: here its feed
        // closes (an error is terminal: it counts as done for until=done), and the connection ends with
        // its last thread.
        deleted[index] = true;
        deletedCount += 1;
        feeds[index]?.close();
      }
    }
    if (ends || deleted[index]) markDone(index);
  };

  threads.forEach((threadId, index) => {
    const feed = createThreadFeed(
      feedDeps(ctx),
      { threadId, resumeFrom: joins[index]?.feedFrom, log: log.child({ threadId }) },
      {
        event: (event, json, source) => deliver(index, event, json, source),
        gap(after) {
          // What follows may be older than the lost position: let the replay move it from the start.
          positions[index] = LOG_START;
          sendNotice(threadId, NOTICES.replayTruncated(after));
        },
        held: () => transport.checkBudget(),
        failed(error) {
          log.error({ err: error, threadId }, "replay from the log failed");
          sendNotice(threadId, NOTICES.replayFailed);
          transport.dispose("replay_failed");
        },
        whenWritable: () => transport.whenWritable(),
        caughtUp() {
          const snapshot = joins[index]?.caughtUp(threadId);
          if (!snapshot) return;
          // Never filtered; paced as the replay it stands for. From here the thread has a position.
          send(index, snapshot.event, snapshot.json, true);
          positions[index] ??= LOG_START;
          if (snapshot.finished) markDone(index);
        },
      },
    );
    feeds.push(feed);
    transport.defer(() => feed.close());
  });

  return {
    handlers: feeds.map((feed) => feed.handlers),
    start(res, headers, liveFrom) {
      if (transport.disposed) return;
      // Live-only threads start at the log tail read before subscribing.
      for (const [i, join] of joins.entries()) {
        if (join.feedFrom === undefined) positions[i] = liveFrom[i] ?? LOG_START;
      }
      transport.open(res, headers);
      for (const [i, feed] of feeds.entries()) feed.start(liveFrom[i] ?? LOG_START);
    },
    defer: (cleanup) => transport.defer(cleanup),
    end: (reason) => transport.dispose(reason),
    get ended() {
      return transport.disposed;
    },
  };
}
