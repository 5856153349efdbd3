import { abortableSleep, STREAM_ERROR_CODES, type ThreadEvent, ThreadId } from "@threadline/protocol";
import { createAsyncQueue } from "./async-queue.js";
import { backoffDelay } from "./backoff.js";
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, type EventStreamDeps } from "./event-stream.js";
import { createRecentIds } from "./recent-ids.js";
import type { ConnectionState, StateReason, TokenReason, WebSocketConstructor } from "./types.js";
import type { WatchLink, WatchOutcome, WatchSession } from "./watch-session.js";
import { connectSse } from "./watch-sse.js";
import { connectWebSocket } from "./watch-websocket.js";

/** Threads to start or stop watching, for `watch(changes)`. */
export interface WatchChange {
  add?: readonly string[];
  remove?: readonly string[];
}

/** What `client.watch()` yields: one thread's event, a gap in one thread, or one thread's subscription ending. */
export type WatchItem =
  | { kind: "event"; threadId: string; event: ThreadEvent }
  | {
      kind: "gap";
      threadId: string;
      reason: typeof STREAM_ERROR_CODES.replayTruncated;
      message: string;
      /** The position that is no longer in the log. */
      after: string | undefined;
    }
  /**
   * The gateway refused or ended this thread's subscription (FORBIDDEN, TOO_MANY_THREADS, THREAD_DELETED,
   * INVALID_MESSAGE): it is no longer watched. Retryable failures (REPLAY_FAILED, REDIS_UNAVAILABLE) are
   * retried by the SDK and reported with `retrying: true`.
   */
  | { kind: "error"; threadId: string; code: string; message: string; retrying: boolean };

/** Which gateway transport a watch uses (see `WatchOptions.transport`). */
export type WatchTransport = "websocket" | "sse";

export interface WatchStateChange {
  state: ConnectionState;
  attempt: number;
  reason?: StateReason;
  delayMs?: number;
  error?: unknown;
  /** Where each watched thread stands: the last event id (or the subscription's start), the resume point. */
  positions: Readonly<Record<string, string>>;
  /** The transport of this connection: the WebSocket, or the multiplexed SSE route it fell back to. */
  transport: WatchTransport;
}

export interface WatchOptions {
  /**
   * Where threads without a known position start. Default `"snapshot"`: a run in progress arrives as its
   * state so far in one `snapshot` event, then live (WebSocket `snapshot: true`, SSE `?snapshot=1`);
   * `"live"`: only new events; `"start"`: everything retained.
   */
  from?: "snapshot" | "live" | "start";
  /** Known resume positions (last event id per thread), e.g. saved from `onStateChange`. */
  positions?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  onStateChange?: (change: WatchStateChange) => void;
  /** Backoff tuning. Defaults: initial 1,000 ms, max 30,000 ms, full jitter. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number; random?: () => number };
  /** The WebSocket class; defaults to `globalThis.WebSocket` (pass `ws`'s class on Node 20). */
  WebSocket?: WebSocketConstructor;
  /**
   * `auto` (default): the WebSocket, falling back to multiplexed SSE (`GET /v1/events?threads=`) when no
   * WebSocket class exists, or when the socket fails before it ever opened while a plain GET of
   * `/v1/ws` shows the upgrade cannot get through (426: a proxy dropped it; 404/405/2xx: not the
   * gateway's route). A watch whose socket opened once stays on WebSocket; one that fell back stays on
   * SSE. `websocket` never falls back; `sse` never tries the socket.
   */
  transport?: "auto" | WatchTransport;
  /**
   * Reconnect an SSE stream that is silent (not even a keepalive) for this long, and give up on a
   * WebSocket that has not opened within it (a proxy that holds the upgrade: then the `auto` rule
   * applies). Default 37,500 ms.
   */
  heartbeatTimeoutMs?: number;
}

const DEFAULT_INITIAL_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * Many threads over ONE gateway connection — a WebSocket (`GET /v1/ws`), or the multiplexed SSE route
 * when the socket cannot be used (`transport`) — reconnecting with exponential backoff and full jitter
 * and resuming each thread after its last event id (or the position the gateway confirmed it at), so
 * nothing is lost or doubled across reconnects or the fallback. An expired token (close 4001, SSE's
 * TOKEN_EXPIRED) is refreshed at once (`getToken({reason:"expired"})`), as on the single-thread stream.
 * `threads` is a list, or an async iterable of changes to follow over time.
 */
export function watchThreads(
  deps: EventStreamDeps & { WebSocket?: WebSocketConstructor },
  threads: readonly string[] | AsyncIterable<WatchChange>,
  options: WatchOptions = {},
): AsyncGenerator<WatchItem, void, undefined> {
  const choice = options.transport ?? "auto";
  if (choice !== "auto" && choice !== "websocket" && choice !== "sse") {
    throw new TypeError(`transport must be "auto", "websocket" or "sse", got ${JSON.stringify(choice)}`);
  }
  const WebSocketClass =
    options.WebSocket ?? deps.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketClass && choice === "websocket") {
    throw new TypeError("watch needs a WebSocket class: pass options.WebSocket (e.g. the `ws` package's)");
  }
  let transport: WatchTransport = WebSocketClass && choice !== "sse" ? "websocket" : "sse";
  let socketOpened = false;
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const { signal } = stop;
  const queue = createAsyncQueue<WatchItem>();
  const active = new Set<string>();
  const positions = new Map<string, string>(Object.entries(options.positions ?? {}));
  const from = options.from ?? "snapshot";
  const seen = createRecentIds(8192);
  const maxDelayMs = options.backoff?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const initialDelayMs = options.backoff?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  let link: WatchLink | undefined;
  let attempt = 0;
  let lastState: ConnectionState | undefined;

  const report = (change: Omit<WatchStateChange, "positions" | "attempt" | "transport">) => {
    lastState = change.state;
    options.onStateChange?.({ ...change, attempt, transport, positions: Object.fromEntries(positions) });
  };
  const delay = () =>
    backoffDelay(attempt, { initialDelayMs, maxDelayMs, random: options.backoff?.random ?? Math.random });

  const add = (threadId: string) => {
    if (!ThreadId.safeParse(threadId).success) {
      throw new TypeError(`not a thread id: ${JSON.stringify(threadId).slice(0, 80)}`);
    }
    if (active.has(threadId)) return;
    active.add(threadId);
    link?.subscribe(threadId);
  };
  const remove = (threadId: string) => {
    if (!active.delete(threadId)) return;
    positions.delete(threadId);
    link?.unsubscribe(threadId);
  };

  const session: WatchSession = {
    signal,
    active,
    startOf: (threadId) => positions.get(threadId) ?? (from === "start" ? "0" : undefined),
    snapshot: from === "snapshot",
    confirmed(threadId, after) {
      if (active.has(threadId) && !positions.has(threadId)) positions.set(threadId, after);
    },
    event(event: ThreadEvent & { threadId: string }) {
      if (!active.has(event.threadId)) return;
      if (event.id !== undefined) {
        // The gateway never doubles an event; this is the last line of defence across reconnects.
        if (!seen.add(`${event.threadId} ${event.id}`)) return;
        positions.set(event.threadId, event.id);
      }
      queue.push({ kind: "event", threadId: event.threadId, event });
    },
    gap(threadId, message, after) {
      if (!active.has(threadId)) return;
      queue.push({ kind: "gap", threadId, reason: STREAM_ERROR_CODES.replayTruncated, message, after });
    },
    threadError(threadId, code, message, retrying) {
      if (!active.has(threadId)) return;
      queue.push({ kind: "error", threadId, code, message, retrying });
      if (retrying) return;
      active.delete(threadId);
      positions.delete(threadId);
    },
    opened() {
      attempt = 0;
      if (transport === "websocket") socketOpened = true;
      // An SSE reopen for a change of threads is not news: the state stays `live`.
      if (lastState !== "live") report({ state: "live" });
    },
    link(next) {
      link = next;
    },
    retryDelay: delay,
  };

  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const connect = (token: string | undefined): Promise<WatchOutcome> =>
    transport === "websocket" && WebSocketClass
      ? connectWebSocket(session, {
          gatewayUrl: deps.gatewayUrl,
          fetch: deps.fetch,
          WebSocket: WebSocketClass,
          token,
          mayFallBack: choice === "auto" && !socketOpened,
          openTimeoutMs: heartbeatTimeoutMs,
        })
      : connectSse(session, { gatewayUrl: deps.gatewayUrl, fetch: deps.fetch, token, heartbeatTimeoutMs });

  let closeReason: StateReason = "aborted";
  let closeError: unknown;
  const fatal = (error: unknown): never => {
    closeReason = "fatal";
    closeError = error;
    throw error;
  };
  const loop = async () => {
    let tokenReason: TokenReason = "initial";
    report({ state: "connecting" });
    while (!signal.aborted) {
      let token: string | undefined;
      try {
        token = await deps.getToken({ reason: tokenReason });
      } catch (error) {
        fatal(error);
      }
      if (signal.aborted) break;
      const outcome = await connect(token);
      if (outcome.type === "aborted") break;
      if (outcome.type === "reopen") {
        tokenReason = "reconnect";
        continue;
      }
      let reason: StateReason;
      let delayMs: number;
      let error: unknown;
      if (outcome.type === "fallback") {
        transport = "sse";
        reason = "fallback";
        delayMs = 0;
        error = new Error(`${outcome.why}: falling back to SSE (GET /v1/events)`);
        tokenReason = "reconnect";
      } else if (outcome.type === "token_expired") {
        reason = "token_expired";
        tokenReason = "expired";
        delayMs = 0;
      } else if (outcome.type === "refused") {
        const status: number = outcome.error.status;
        // As the single-thread stream: one fresh token after a 401, then 4xx (but 408/429) is final.
        const retryWithFreshToken: boolean = status === 401 && tokenReason !== "expired";
        if (status >= 400 && status < 500 && status !== 408 && status !== 429 && !retryWithFreshToken) {
          fatal(outcome.error);
        }
        reason = retryWithFreshToken ? "token_expired" : "http_error";
        tokenReason = retryWithFreshToken ? "expired" : "reconnect";
        delayMs = retryWithFreshToken ? 0 : Math.max(outcome.retryAfterMs ?? 0, delay());
        error = outcome.error;
        attempt += retryWithFreshToken ? 0 : 1;
      } else {
        reason = outcome.reason;
        tokenReason = "reconnect";
        delayMs = delay();
        error = outcome.error;
        attempt += 1;
      }
      report({ state: "reconnecting", reason, delayMs, ...(error === undefined ? {} : { error }) });
      await abortableSleep(delayMs, signal);
    }
  };

  const follow = async (changes: AsyncIterable<WatchChange>) => {
    for await (const change of changes) {
      if (signal.aborted) return;
      for (const threadId of change.remove ?? []) remove(threadId);
      for (const threadId of change.add ?? []) add(threadId);
    }
  };

  try {
    if (Symbol.asyncIterator in threads) void follow(threads).catch((error: unknown) => queue.fail(error));
    else for (const threadId of threads) add(threadId);
  } catch (error) {
    options.signal?.removeEventListener("abort", onOuterAbort);
    throw error;
  }
  loop()
    .then(
      () => queue.end(),
      (error: unknown) => queue.fail(error),
    )
    .finally(() =>
      report({
        state: "closed",
        reason: closeReason,
        ...(closeError === undefined ? {} : { error: closeError }),
      }),
    );
  signal.addEventListener("abort", () => queue.end(), { once: true });
  return queue.iterate(() => {
    stop.abort();
    options.signal?.removeEventListener("abort", onOuterAbort);
  });
}
