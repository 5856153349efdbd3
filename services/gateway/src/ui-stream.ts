import type { ServerResponse } from "node:http";
import {
  createUiChunkMapper,
  encodeUiChunk,
  pushCoalesced,
  STREAM_ERROR_CODES,
  UI_MESSAGE_STREAM_DONE,
  UI_MESSAGE_STREAM_HEADER,
  type UiChunk,
} from "@threadline/protocol";
import { compareIds, LOG_START } from "@threadline/redis";
import { createStreamTransport, feedDeps, type SseStream, type StreamContext } from "./sse-stream.js";
import { createThreadFeed } from "./thread-feed.js";

export interface UiStreamOptions {
  threadId: string;
  /** The run whose answer this stream carries. */
  runId: string;
  streamId: string;
  reqId?: string;
  /** Last-Event-ID / `?after`: chunks of events up to this id were delivered already. */
  after: string | undefined;
  /**
   * `?snapshot=1` without `after`: the run so far (the first replay) is sent as coalesced chunks — one
   * delta per text, reasoning or tool-input part — instead of one chunk per token.
   */
  snapshot?: boolean;
  expiresAtMs: number;
}

/**
 * One run as a Vercel AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`): the same thread
 * feed as the events route — log from the start, then live, no gap, no duplicate — with each event of
 * the run turned into UI chunks by the protocol's mapper and written by the same SSE transport, ending
 * with `[DONE]` after the run's `done`. Resuming after an event id replays the run silently up to it
 * (so the mapper knows which parts are open) and sends only what follows; the id rides on the last
 * chunk of each event. A snapshot join coalesces the replayed chunks (`pushCoalesced`), from which the
 * AI SDK builds the same message, and sends them at once when the replay caught up.
 */
export function createUiStream(ctx: StreamContext, options: UiStreamOptions): SseStream {
  const { threadId, runId, after } = options;
  const log = ctx.log.child({ reqId: options.reqId, threadId, runId, streamId: options.streamId });
  const mapper = createUiChunkMapper(runId);

  const sendError = (errorText: string) => transport.send(encodeUiChunk({ type: "error", errorText }));
  const transport = createStreamTransport(ctx, log, {
    heldBytes: () => feed.pendingBytes,
    expiresAtMs: options.expiresAtMs,
    sayExpired: () =>
      sendError(`${STREAM_ERROR_CODES.tokenExpired}: get a new token and resume with Last-Event-ID`),
  });

  /** A snapshot join's replay so far: coalesced chunks, and the id of the last event folded. */
  let folded: { chunks: UiChunk[]; id: string | undefined } | undefined =
    options.snapshot && after === undefined ? { chunks: [], id: undefined } : undefined;
  const flushFolded = () => {
    if (!folded) return;
    const { chunks, id } = folded;
    folded = undefined;
    // Paced as the replay it stands for; the id rides on its last chunk, so a resume follows it.
    if (chunks.length > 0) transport.send(frames(chunks, id), true);
  };
  const finish = () => {
    if (!mapper.finished || transport.disposed) return;
    flushFolded();
    transport.send(UI_MESSAGE_STREAM_DONE);
    transport.dispose("done");
  };

  const feed = createThreadFeed(
    feedDeps(ctx),
    { threadId, resumeFrom: LOG_START, log },
    {
      event(event, _json, source) {
        const chunks = mapper.push(event);
        if (folded && source === "replay") {
          for (const chunk of chunks) pushCoalesced(folded.chunks, chunk);
          if (event.id !== undefined && chunks.length > 0) folded.id = event.id;
          if (chunks.length > 0) ctx.metrics.eventsDelivered.inc({ source });
          return finish();
        }
        const delivered = after !== undefined && event.id !== undefined && compareIds(event.id, after) <= 0;
        if (!delivered && chunks.length > 0) {
          transport.send(frames(chunks, event.id), source === "replay");
          ctx.metrics.eventsDelivered.inc({ source });
        }
        finish();
      },
      gap(gapAfter) {
        flushFolded(); // what was folded came before the gap
        sendError(
          `${STREAM_ERROR_CODES.replayTruncated}: events after ${gapAfter} are no longer in the replay log`,
        );
      },
      held: () => transport.checkBudget(),
      failed(error) {
        log.error({ err: error }, "replay from the log failed");
        sendError("REPLAY_FAILED: could not read the replay log; reconnect");
        transport.dispose("replay_failed");
      },
      whenWritable: () => transport.whenWritable(),
      caughtUp: flushFolded,
    },
  );
  transport.defer(() => feed.close());

  return {
    handlers: feed.handlers,
    start(res: ServerResponse, headers, liveFrom) {
      if (transport.disposed) return;
      transport.open(res, { ...headers, [UI_MESSAGE_STREAM_HEADER.name]: UI_MESSAGE_STREAM_HEADER.value });
      feed.start(liveFrom);
    },
    defer: (cleanup) => transport.defer(cleanup),
    end: (reason) => transport.dispose(reason),
    get ended() {
      return transport.disposed;
    },
  };
}

/** An event's chunks as SSE frames; only the last carries the event id, so a resume never skips a chunk. */
function frames(chunks: UiChunk[], id: string | undefined): string {
  return chunks.map((chunk, i) => encodeUiChunk(chunk, i === chunks.length - 1 ? id : undefined)).join("");
}
