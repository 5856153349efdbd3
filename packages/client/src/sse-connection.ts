import { SSE_EVENT_NAMES, STREAM_ERROR_CODES, ThreadEvent } from "@threadline/protocol";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { parseRetryAfter } from "./backoff.js";
import { type ThreadlineError, toThreadlineError } from "./threadline-error.js";
import type { FetchLike, StreamItem } from "./types.js";

/** How one connection ended. */
export type ConnectionOutcome =
  | { type: "aborted" }
  | {
      type: "ended";
      reason: "server_closed" | "heartbeat_timeout" | "token_expired" | "network";
      error?: unknown;
    }
  | { type: "http"; error: ThreadlineError; retryAfterMs: number | undefined };

export interface ConnectionRequest {
  fetch: FetchLike;
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
  heartbeatTimeoutMs: number;
  /** Called once the 200 arrived: the subscription is live from here on. */
  onOpen(): void;
  /** The server's `retry:` hint. */
  onRetry(ms: number): void;
  /** The id this connection resumed after, reported on a gap. */
  resumedAfter: string | undefined;
}

/**
 * One SSE connection over fetch: yields the thread's events (and gap markers) until the server ends it, the
 * connection fails or goes silent for `heartbeatTimeoutMs`, or the gateway says the token expired.
 */
export async function* openSseConnection(
  req: ConnectionRequest,
): AsyncGenerator<StreamItem, ConnectionOutcome> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  req.signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, req.heartbeatTimeoutMs);
  };
  const failed = (error: unknown): ConnectionOutcome => {
    if (req.signal?.aborted) return { type: "aborted" };
    return { type: "ended", reason: timedOut ? "heartbeat_timeout" : "network", error };
  };
  try {
    arm();
    let response: Response;
    try {
      // `cache` is browser-only (Node's RequestInit lacks it): never serve a stream from the HTTP cache.
      const init = { headers: req.headers, signal: controller.signal, cache: "no-store" } as RequestInit;
      response = await req.fetch(req.url, init);
    } catch (error) {
      return failed(error);
    }
    if (!response.ok || !response.body) {
      clearTimeout(timer);
      return {
        type: "http",
        error: await toThreadlineError(response),
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      };
    }
    req.onOpen();
    const messages: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (m) => messages.push(m), onRetry: (ms) => req.onRetry(ms) });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          return failed(error);
        }
        if (chunk.done) return { type: "ended", reason: "server_closed" };
        arm();
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        for (const message of messages.splice(0)) {
          const item = toItem(message, req.resumedAfter);
          if (item === "token_expired") return { type: "ended", reason: "token_expired" };
          if (!item) continue;
          // A slow consumer is not a silent server: the timer only runs while we wait on the socket.
          clearTimeout(timer);
          yield item;
          arm();
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}

function toItem(
  message: EventSourceMessage,
  resumedAfter: string | undefined,
): StreamItem | "token_expired" | undefined {
  let json: unknown;
  try {
    json = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  const parsed = ThreadEvent.safeParse(json);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  // The gateway's own notices about the stream (protocol 2: `event: stream-error`); a run's errors are
  // `run-error` and reach the caller as events.
  if (event.type === "error" && message.event === SSE_EVENT_NAMES.streamError) {
    if (event.content.code === STREAM_ERROR_CODES.tokenExpired) return "token_expired";
    if (event.content.code === STREAM_ERROR_CODES.replayTruncated) {
      return {
        kind: "gap",
        reason: STREAM_ERROR_CODES.replayTruncated,
        message: event.content.message,
        after: resumedAfter,
      };
    }
  }
  if (event.id === undefined && message.id) event.id = message.id;
  return { kind: "event", event };
}
