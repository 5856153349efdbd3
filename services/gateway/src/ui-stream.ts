import type { ServerResponse } from "node:http";
import {
  createUiChunkMapper,
  encodeUiChunk,
  STREAM_ERROR_CODES,
  UI_MESSAGE_STREAM_DONE,
  UI_MESSAGE_STREAM_HEADER,
  type UiChunk,
} from "@threadline/protocol";
import { compareIds, LOG_START } from "@threadline/redis";
import { feedDeps, type SseStream, type StreamContext } from "./sse-stream.js";
import { createSseTransport } from "./sse-transport.js";
import { createThreadFeed } from "./thread-feed.js";

export interface UiStreamOptions {
  threadId: string;
  /** The run whose answer this stream carries. */
  runId: string;
  streamId: string;
  reqId?: string;
  /** Last-Event-ID / `?after`: chunks of events up to this id were delivered already. */
  after: string | undefined;
  expiresAtMs: number;
}

/**
 * One run as a Vercel AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`): the same thread
 * feed as the events route — log from the start, then live, no gap, no duplicate — with each event of
 * the run turned into UI chunks by the protocol's mapper and written by the same SSE transport, ending
 * with `[DONE]` after the run's `done`. Resuming after an event id replays the run silently up to it
 * (so the mapper knows which parts are open) and sends only what follows; the id rides on the last
 * chunk of each event.
 */
export function createUiStream(ctx: StreamContext, options: UiStreamOptions): SseStream {
  const { threadId, runId, after } = options;
  const log = ctx.log.child({ reqId: options.reqId, threadId, runId, streamId: options.streamId });
  const mapper = createUiChunkMapper(runId);

  const sendError = (errorText: string) => transport.send(encodeUiChunk({ type: "error", errorText }));
  const transport = createSseTransport({
    log,
    metrics: ctx.metrics,
    retryMs: ctx.retryMs,
    heartbeatIntervalMs: ctx.heartbeatIntervalMs,
    maxBufferBytes: ctx.maxBufferBytes,
    heldBytes: () => feed.pendingBytes,
    expiresAtMs: options.expiresAtMs,
    now: ctx.now,
    onExpired() {
      sendError(`${STREAM_ERROR_CODES.tokenExpired}: get a new token and resume with Last-Event-ID`);
      transport.dispose("token_expired");
    },
  });

  const feed = createThreadFeed(
    feedDeps(ctx),
    { threadId, resumeFrom: LOG_START, log },
    {
      event(event, _json, source) {
        const chunks = mapper.push(event);
        const delivered = after !== undefined && event.id !== undefined && compareIds(event.id, after) <= 0;
        if (!delivered && chunks.length > 0) {
          transport.send(frames(chunks, event.id), source === "replay");
          ctx.metrics.eventsDelivered.inc({ source });
        }
        if (mapper.finished && !transport.disposed) {
          transport.send(UI_MESSAGE_STREAM_DONE);
          transport.dispose("done");
        }
      },
      gap(gapAfter) {
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
