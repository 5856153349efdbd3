import {
  decodeVector,
  ERRORS,
  encodeVector,
  SSE_EVENT_NAMES,
  STREAM_ERROR_CODES,
  ThreadEvent,
  vectorTag,
} from "@threadline/protocol";
import { openSseConnection, readConnection } from "./sse-connection.js";
import type { ThreadlineError } from "./threadline-error.js";
import type { FetchLike, RawSseMessage } from "./types.js";
import type { WatchOutcome, WatchSession } from "./watch-session.js";

export interface SseRequest {
  gatewayUrl: string;
  fetch: FetchLike;
  token: string | undefined;
  heartbeatTimeoutMs: number;
}

/**
 * The watch's fallback transport: every watched thread on ONE multiplexed SSE stream
 * (`GET /v1/events?threads=…`), resumed with a position vector built from the session's positions
 * (`Last-Event-ID`; a thread without one is live only). SSE carries its thread list in the URL, so a
 * subscription change ends this connection and the loop opens the next one at once, from the positions
 * held — nothing lost or doubled for the threads that stay.
 */
export async function connectSse(session: WatchSession, req: SseRequest): Promise<WatchOutcome> {
  const threads = [...session.active];
  const { signal } = session;
  // Ends this connection early (a change of threads) as well as when the watch stops.
  const connectionEnd = new AbortController();
  const end = () => connectionEnd.abort();
  signal.addEventListener("abort", end, { once: true });
  session.link({ subscribe: end, unsubscribe: end });
  try {
    if (threads.length === 0) {
      // Nothing to carry: wait for a thread (no idle connection, unlike a socket).
      await new Promise<void>((resolve) => connectionEnd.signal.addEventListener("abort", () => resolve()));
      return signal.aborted ? { type: "aborted" } : { type: "reopen" };
    }
    const starts = threads.map((threadId) => session.startOf(threadId));
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    if (starts.some((start) => start !== undefined)) {
      headers["last-event-id"] = encodeVector(vectorTag(threads), starts);
    }
    const query = new URLSearchParams({ threads: threads.join(",") });
    // Threads without a position (an empty vector entry) join with a snapshot of their run so far.
    if (session.snapshot) query.set("snapshot", "1");
    const reading = readConnection(
      openSseConnection({
        fetch: req.fetch,
        url: `${req.gatewayUrl.replace(/\/+$/, "")}/v1/events?${query}`,
        headers,
        signal: connectionEnd.signal,
        heartbeatTimeoutMs: req.heartbeatTimeoutMs,
        onOpen: () => session.opened(),
        // The watch keeps its own backoff, on either transport.
        onRetry: () => {},
      }),
    );
    for await (const message of reading.messages) onMessage(session, threads, message);
    const outcome = reading.outcome();
    session.link(undefined);
    if (outcome.type === "aborted") return signal.aborted ? { type: "aborted" } : { type: "reopen" };
    if (outcome.type === "http") {
      return dropRefusedThreads(session, threads, outcome.error)
        ? { type: "reopen" }
        : { type: "refused", error: outcome.error, retryAfterMs: outcome.retryAfterMs };
    }
    if (outcome.reason === "token_expired") return { type: "token_expired" };
    return {
      type: "ended",
      reason: outcome.reason,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    };
  } finally {
    session.link(undefined);
    signal.removeEventListener("abort", end);
  }
}

function onMessage(session: WatchSession, threads: readonly string[], message: RawSseMessage) {
  let json: unknown;
  try {
    json = JSON.parse(message.data);
  } catch {
    return;
  }
  const parsed = ThreadEvent.safeParse(json);
  if (!parsed.success) return;
  const event = parsed.data;
  const { threadId } = event;
  if (threadId === undefined || !session.active.has(threadId)) return;
  if (message.event === SSE_EVENT_NAMES.streamError && event.type === "error") {
    const {
      code,
      message: text,
      after,
    } = event.content as { code: string; message: string; after?: unknown };
    if (code === STREAM_ERROR_CODES.replayTruncated) {
      session.gap(threadId, text, typeof after === "string" ? after : undefined);
    } else if (code === STREAM_ERROR_CODES.replayFailed) {
      // The gateway ends the stream after it; the reconnect (with backoff) retries the thread.
      session.threadError(threadId, code, text, true);
    }
    return;
  }
  // The vector holds every thread's position, including the log tail a live-only thread started at:
  // learn those until each thread has one, so a reconnect resumes it rather than joining live again.
  if (message.id !== undefined && threads.some((t) => session.startOf(t) === undefined)) {
    const vector = decodeVector(message.id, threads);
    if (vector.ok) {
      vector.positions.forEach((position, i) => {
        if (position !== undefined) session.confirmed(threads[i] as string, position);
      });
    }
  }
  session.event({ ...event, threadId });
}

/**
 * The multiplexed route refuses the whole request for one thread's sake; the socket would refuse only
 * that thread. Same outcome here: the threads named (a 403's `details.threadId`, the ones past a
 * TOO_MANY_THREADS `details.limit`) end with an error item and the rest reconnect. False: not about threads.
 */
function dropRefusedThreads(
  session: WatchSession,
  threads: readonly string[],
  error: ThreadlineError,
): boolean {
  const details = (error.details ?? {}) as { threadId?: unknown; limit?: unknown };
  let refused: readonly string[] = [];
  if (error.status === 403 && typeof details.threadId === "string" && session.active.has(details.threadId)) {
    refused = [details.threadId];
  } else if (error.code === ERRORS.TOO_MANY_THREADS.code && typeof details.limit === "number") {
    refused = threads.slice(details.limit);
  }
  for (const threadId of refused) session.threadError(threadId, error.code, error.message, false);
  return refused.length > 0;
}
