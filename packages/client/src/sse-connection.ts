import { parseRetryAfter, STREAM_ERROR_CODES } from "@threadline/protocol";
import { createSseParser, type ParsedSseEvent } from "./sse-parser.js";
import { streamErrorCode } from "./stream-messages.js";
import { type ThreadlineError, toThreadlineError } from "./threadline-error.js";
import type { FetchLike, RawSseMessage } from "./types.js";

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
  /** An id-only frame: where a live-only join stands before its first event (resume from there). */
  onPosition?(id: string): void;
}

/**
 * Reads a connection with `for await`, which drops a generator's return value: `outcome()` is how the
 * connection ended, once `messages` ran out. However reading stops (the end, a `return` or `break`, a
 * throw, the consumer of an outer generator leaving), the connection is closed: its socket never
 * outlives the reader.
 */
export function readConnection(connection: AsyncGenerator<RawSseMessage, ConnectionOutcome>) {
  let outcome: ConnectionOutcome | undefined;
  async function* messages(): AsyncGenerator<RawSseMessage, void> {
    try {
      for (;;) {
        const next = await connection.next();
        if (next.done) {
          outcome = next.value;
          return;
        }
        yield next.value;
      }
    } finally {
      await connection.return({ type: "aborted" });
    }
  }
  return {
    messages: messages(),
    outcome(): ConnectionOutcome {
      if (outcome === undefined) throw new Error("unreachable: the connection has not ended");
      return outcome;
    },
  };
}

/**
 * One SSE connection over fetch: yields the gateway's messages as sent until the server ends it, the
 * connection fails or goes silent for `heartbeatTimeoutMs`, or the gateway says the token expired.
 */
export async function* openSseConnection(
  req: ConnectionRequest,
): AsyncGenerator<RawSseMessage, ConnectionOutcome> {
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
    const messages: ParsedSseEvent[] = [];
    const parser = createSseParser({
      onEvent: (m) => messages.push(m),
      onRetry: (ms) => req.onRetry(ms),
      onPosition: (id) => req.onPosition?.(id),
    });
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
        for (const { id, event, data } of messages.splice(0)) {
          const message: RawSseMessage = { id: id || undefined, event: event ?? "message", data };
          if (streamErrorCode(message) === STREAM_ERROR_CODES.tokenExpired)
            return { type: "ended", reason: "token_expired" };
          // A slow consumer is not a silent server: the timer only runs while we wait on the socket.
          clearTimeout(timer);
          yield message;
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
