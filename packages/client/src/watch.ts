import {
  abortableSleep,
  ERRORS,
  parseRetryAfter,
  STREAM_ERROR_CODES,
  ThreadEvent,
  ThreadId,
  WS_CLOSE_CODES,
  WsServerMessage,
} from "@threadline/protocol";
import { createAsyncQueue } from "./async-queue.js";
import { backoffDelay } from "./backoff.js";
import type { EventStreamDeps } from "./event-stream.js";
import { createRecentIds } from "./recent-ids.js";
import { toThreadlineError } from "./threadline-error.js";
import type {
  ConnectionState,
  StateReason,
  TokenReason,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";

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

export interface WatchStateChange {
  state: ConnectionState;
  attempt: number;
  reason?: StateReason;
  delayMs?: number;
  error?: unknown;
  /** Where each watched thread stands: the last event id (or the subscription's start), the resume point. */
  positions: Readonly<Record<string, string>>;
}

export interface WatchOptions {
  /** Where threads without a known position start: only new events (default) or everything retained. */
  from?: "live" | "start";
  /** Known resume positions (last event id per thread), e.g. saved from `onStateChange`. */
  positions?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  onStateChange?: (change: WatchStateChange) => void;
  /** Backoff tuning. Defaults: initial 1,000 ms, max 30,000 ms, full jitter. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number; random?: () => number };
  /** The WebSocket class; defaults to `globalThis.WebSocket` (pass `ws`'s class on Node 20). */
  WebSocket?: WebSocketConstructor;
}

type Outcome =
  | { type: "aborted" }
  /** The socket never opened: refused upgrade (bad token, full gateway) or unreachable. */
  | { type: "not_opened" }
  | { type: "closed"; code: number; reason: string };

/** The socket's methods the watch loop calls while connected. */
interface Link {
  subscribe(threadId: string): void;
  unsubscribe(threadId: string): void;
}

const DEFAULT_INITIAL_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 30_000;
const OPEN = 1;

/**
 * Many threads over ONE WebSocket (`GET /v1/ws`): subscribes every watched thread, reconnects with
 * exponential backoff and full jitter, and resubscribes each thread after its last event id (or the
 * position its `subscribed` frame reported), so nothing is lost or doubled across reconnects. A token
 * that expired (close 4001) is refreshed at once (`getToken({reason:"expired"})`), as on the
 * single-thread stream. `threads` is a list, or an async iterable of changes to follow over time.
 */
export function watchThreads(
  deps: EventStreamDeps & { WebSocket?: WebSocketConstructor },
  threads: readonly string[] | AsyncIterable<WatchChange>,
  options: WatchOptions = {},
): AsyncGenerator<WatchItem, void, undefined> {
  const WebSocketClass =
    options.WebSocket ?? deps.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketClass) {
    throw new TypeError("watch needs a WebSocket class: pass options.WebSocket (e.g. the `ws` package's)");
  }
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const { signal } = stop;
  const queue = createAsyncQueue<WatchItem>();
  const active = new Set<string>();
  const positions = new Map<string, string>(Object.entries(options.positions ?? {}));
  const seen = createRecentIds(8192);
  const maxDelayMs = options.backoff?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const initialDelayMs = options.backoff?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  let link: Link | undefined;
  let attempt = 0;

  const report = (change: Omit<WatchStateChange, "positions" | "attempt">) =>
    options.onStateChange?.({ ...change, attempt, positions: Object.fromEntries(positions) });
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

  const onFrame = (text: string, socket: WebSocketLike) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const frame = WsServerMessage.safeParse(json);
    if (!frame.success) return;
    const message = frame.data;
    if (message.type === "subscribed") {
      if (active.has(message.threadId) && !positions.has(message.threadId)) {
        positions.set(message.threadId, message.after);
      }
      return;
    }
    if (message.type === "event") {
      const parsed = ThreadEvent.safeParse(message.event);
      if (!parsed.success) return;
      const event = parsed.data;
      if (!active.has(event.threadId)) return;
      if (event.id !== undefined) {
        // The gateway never doubles an event; this is the last line of defence across reconnects.
        if (!seen.add(`${event.threadId} ${event.id}`)) return;
        positions.set(event.threadId, event.id);
      }
      queue.push({ kind: "event", threadId: event.threadId, event });
      return;
    }
    const { threadId, code } = message;
    if (threadId === undefined || !active.has(threadId)) return;
    if (code === STREAM_ERROR_CODES.replayTruncated) {
      queue.push({ kind: "gap", threadId, reason: code, message: message.message, after: message.after });
      return;
    }
    // TOKEN_EXPIRED: the gateway closes with 4001 next, and the loop reconnects with a fresh token.
    if (code === STREAM_ERROR_CODES.tokenExpired) return;
    const retrying = code === STREAM_ERROR_CODES.replayFailed || code === ERRORS.REDIS_UNAVAILABLE.code;
    queue.push({ kind: "error", threadId, code, message: message.message, retrying });
    if (!retrying) {
      active.delete(threadId);
      positions.delete(threadId);
      return;
    }
    void abortableSleep(delay(), signal).then(() => {
      if (link && active.has(threadId) && socket.readyState === OPEN) link.subscribe(threadId);
    });
  };

  const connect = (token: string | undefined): Promise<Outcome> =>
    new Promise((resolve) => {
      const base = deps.gatewayUrl.replace(/\/+$/, "").replace(/^http/, "ws");
      // Browsers' WebSocket cannot send headers: the token goes in the query (the gateway never logs it).
      const url = `${base}/v1/ws${token ? `?access_token=${encodeURIComponent(token)}` : ""}`;
      const socket = new WebSocketClass(url);
      let opened = false;
      const send = (message: object) => {
        if (socket.readyState === OPEN) socket.send(JSON.stringify(message));
      };
      const onAbort = () => {
        socket.close(1000);
        finish({ type: "aborted" });
      };
      const finish = (outcome: Outcome) => {
        signal.removeEventListener("abort", onAbort);
        socket.onopen = socket.onmessage = socket.onclose = null;
        // Closing a socket that is still connecting reports an error afterwards (the `ws` package
        // emits it): it must find a listener.
        socket.onerror = () => {};
        link = undefined;
        resolve(outcome);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      socket.onopen = () => {
        opened = true;
        attempt = 0;
        link = {
          subscribe(threadId) {
            const after = positions.get(threadId) ?? (options.from === "start" ? "0" : undefined);
            send({ type: "subscribe", threadId, ...(after === undefined ? {} : { after }) });
          },
          unsubscribe: (threadId) => send({ type: "unsubscribe", threadId }),
        };
        for (const threadId of active) link.subscribe(threadId);
        report({ state: "live" });
      };
      socket.onmessage = (event) => {
        if (typeof event.data === "string") onFrame(event.data, socket);
      };
      socket.onerror = () => {};
      socket.onclose = (event) =>
        finish(opened ? { type: "closed", code: event.code, reason: event.reason } : { type: "not_opened" });
    });

  /**
   * Why the socket did not open (browsers do not say): the same URL as plain HTTP, which the gateway
   * authenticates and admits exactly as the upgrade, answering 426 when both would have passed.
   */
  const probe = async (token: string | undefined) => {
    const url = `${deps.gatewayUrl.replace(/\/+$/, "")}/v1/ws`;
    try {
      const response = await deps.fetch(url, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal,
      });
      if (response.status === 426 || response.ok) return undefined;
      return {
        error: await toThreadlineError(response),
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      };
    } catch {
      return undefined;
    }
  };

  let closeReason: StateReason = "aborted";
  let closeError: unknown;
  const loop = async () => {
    let tokenReason: TokenReason = "initial";
    report({ state: "connecting" });
    while (!signal.aborted) {
      let token: string | undefined;
      try {
        token = await deps.getToken({ reason: tokenReason });
      } catch (error) {
        closeReason = "fatal";
        closeError = error;
        throw error;
      }
      if (signal.aborted) break;
      const outcome = await connect(token);
      if (outcome.type === "aborted") break;
      let reason: StateReason;
      let delayMs: number;
      let error: unknown;
      if (outcome.type === "closed" && outcome.code === WS_CLOSE_CODES.tokenExpired) {
        reason = "token_expired";
        tokenReason = "expired";
        delayMs = 0;
      } else if (outcome.type === "not_opened") {
        const refused = await probe(token);
        if (signal.aborted) break;
        const status: number = refused?.error.status ?? 0;
        // As the single-thread stream: one fresh token after a 401, then 4xx (but 408/429) is final.
        const retryWithFreshToken: boolean = status === 401 && tokenReason !== "expired";
        if (
          refused &&
          status >= 400 &&
          status < 500 &&
          status !== 408 &&
          status !== 429 &&
          !retryWithFreshToken
        ) {
          closeReason = "fatal";
          closeError = refused.error;
          throw refused.error;
        }
        reason = retryWithFreshToken ? "token_expired" : refused ? "http_error" : "network";
        tokenReason = retryWithFreshToken ? "expired" : "reconnect";
        delayMs = retryWithFreshToken ? 0 : Math.max(refused?.retryAfterMs ?? 0, delay());
        error = refused?.error;
        attempt += retryWithFreshToken ? 0 : 1;
      } else {
        reason = "server_closed";
        tokenReason = "reconnect";
        delayMs = delay();
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
