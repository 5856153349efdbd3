import {
  abortableSleep,
  isEventId,
  SSE_EVENT_NAMES,
  STREAM_ERROR_CODES,
  ThreadEvent,
} from "@threadline/protocol";
import { backoffDelay } from "./backoff.js";
import { createRecentIds } from "./recent-ids.js";
import { openSseConnection, readConnection } from "./sse-connection.js";
import { isRunEnd, streamErrorCode } from "./stream-messages.js";
import type {
  ConnectionStateChange,
  EventStreamOptions,
  FetchLike,
  GetToken,
  RawSseMessage,
  StateReason,
  StreamFrom,
  StreamItem,
  TokenReason,
} from "./types.js";

export interface EventStreamDeps {
  gatewayUrl: string;
  getToken: GetToken;
  fetch: FetchLike;
}

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 37_500;
/** Where a thread stream starts when `from` is not given. */
export const DEFAULT_FROM: StreamFrom = "snapshot";
const DEFAULT_INITIAL_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * The events of one thread as an async iterator that survives disconnects: it reconnects with exponential
 * backoff and full jitter, resumes with `Last-Event-ID`, refreshes the token on TOKEN_EXPIRED, surfaces
 * REPLAY_TRUNCATED as a `gap` item, and ends cleanly when `signal` aborts. 400/401/403/404 reject with a
 * ThreadlineError; 429/503 wait for `Retry-After`.
 */
export function openEventStream(
  deps: EventStreamDeps,
  threadId: string,
  options: EventStreamOptions = {},
): AsyncGenerator<StreamItem, void, undefined> {
  return reconnectingStream(deps, threadId, options, toItem, (item) =>
    item.kind === "event" ? item.event.id : undefined,
  );
}

/**
 * Raw mode: the same resumable stream (reconnects, Last-Event-ID, TOKEN_EXPIRED, Retry-After) yielding the
 * gateway's SSE messages as sent — event name, id and unparsed `data`, REPLAY_TRUNCATED notices included —
 * for tools that print or forward the gateway's bytes (the `threadline tail` CLI).
 */
export function openRawEventStream(
  deps: EventStreamDeps,
  threadId: string,
  options: EventStreamOptions = {},
): AsyncGenerator<RawSseMessage, void, undefined> {
  return reconnectingStream(
    deps,
    threadId,
    options,
    (message) => message,
    (message) => message.id,
  );
}

async function* reconnectingStream<T>(
  deps: EventStreamDeps,
  threadId: string,
  options: EventStreamOptions,
  decode: (message: RawSseMessage, resumedAfter: string | undefined) => T | undefined,
  idOf: (item: T) => string | undefined,
): AsyncGenerator<T, void, undefined> {
  // A join without a position: a run in progress arrives as its state so far, not every token again.
  const from = options.from ?? DEFAULT_FROM;
  if (from !== "live" && from !== "start" && from !== "snapshot" && !isEventId(from)) {
    throw new TypeError(
      `from must be "live", "start", "snapshot" or an event id like 1700000000000-0, got ${JSON.stringify(from)}`,
    );
  }
  const { signal } = options;
  const base = `${deps.gatewayUrl.replace(/\/+$/, "")}/v1/threads/${encodeURIComponent(threadId)}/events`;
  const urlFor = (resumedAfter: string | undefined) => {
    const query = new URLSearchParams();
    if (options.untilDone) query.set("until", "done");
    if (!resumedAfter && from === "start") query.set("after", "0");
    // A join without a position: the latest run's state in one event, then live.
    if (!resumedAfter && from === "snapshot") query.set("snapshot", "1");
    return query.size > 0 ? `${base}?${query}` : base;
  };
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const maxDelayMs = options.backoff?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  let retryMs = options.backoff?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  let lastEventId = from === "live" || from === "start" || from === "snapshot" ? undefined : from;
  let attempt = 0;
  let tokenReason: TokenReason = "initial";
  let closeReason: StateReason = "aborted";
  let closeError: unknown;
  const seen = createRecentIds();
  const report = (change: Omit<ConnectionStateChange, "lastEventId" | "attempt">) =>
    options.onStateChange?.({ ...change, lastEventId, attempt });

  report({ state: "connecting", resumed: false });
  try {
    while (!signal?.aborted) {
      const resumedAfter = lastEventId;
      const headers: Record<string, string> = { accept: "text/event-stream" };
      const token = await getTokenOrFail();
      if (token) headers.authorization = `Bearer ${token}`;
      if (resumedAfter) headers["last-event-id"] = resumedAfter;
      const reading = readConnection(
        openSseConnection({
          fetch: deps.fetch,
          url: urlFor(resumedAfter),
          headers,
          signal,
          heartbeatTimeoutMs,
          onRetry: (ms) => {
            retryMs = ms;
          },
          // A live-only join's first frame: a drop before its first event resumes from here.
          onPosition: (id) => {
            lastEventId = id;
          },
          onOpen: () => {
            attempt = 0;
            tokenReason = "reconnect";
            report({ state: "live", resumed: resumedAfter !== undefined });
          },
        }),
      );
      for await (const message of reading.messages) {
        const item = decode(message, resumedAfter);
        if (item === undefined) continue;
        const id = idOf(item);
        if (id !== undefined) {
          if (!seen.add(id)) continue;
          lastEventId = id;
        }
        yield item;
        if (options.untilDone && isRunEnd(message)) {
          closeReason = "done";
          return;
        }
      }
      const outcome = reading.outcome();
      if (outcome.type === "aborted") break;
      let delayMs: number;
      let reason: StateReason;
      let error: unknown;
      if (outcome.type === "http") {
        const { status } = outcome.error;
        // A token may expire while we are disconnected: ask for a fresh one once before giving up.
        const retryWithFreshToken = status === 401 && tokenReason !== "expired";
        if (status >= 400 && status < 500 && status !== 408 && status !== 429 && !retryWithFreshToken) {
          closeReason = "fatal";
          closeError = outcome.error;
          throw outcome.error;
        }
        reason = retryWithFreshToken ? "token_expired" : "http_error";
        delayMs = retryWithFreshToken
          ? 0
          : Math.max(outcome.retryAfterMs ?? 0, backoffDelay(attempt, backoff(retryMs)));
        if (retryWithFreshToken) tokenReason = "expired";
        error = outcome.error;
      } else if (outcome.reason === "token_expired") {
        reason = "token_expired";
        tokenReason = "expired";
        delayMs = 0;
      } else {
        reason = outcome.reason;
        delayMs = backoffDelay(attempt, backoff(retryMs));
        error = outcome.error;
      }
      report({
        state: "reconnecting",
        resumed: false,
        reason,
        delayMs,
        ...(error === undefined ? {} : { error }),
      });
      attempt += reason === "token_expired" ? 0 : 1;
      await abortableSleep(delayMs, signal);
    }
  } finally {
    report({
      state: "closed",
      resumed: false,
      reason: closeReason,
      ...(closeReason === "fatal" ? { error: closeError } : {}),
    });
  }

  async function getTokenOrFail(): Promise<string | undefined> {
    try {
      return await deps.getToken({ reason: tokenReason });
    } catch (error) {
      closeReason = "fatal";
      closeError = error;
      throw error;
    }
  }

  function backoff(initialDelayMs: number) {
    return { initialDelayMs, maxDelayMs, random: options.backoff?.random ?? Math.random };
  }
}

/** A message as the typed stream's item: a thread event, a gap for REPLAY_TRUNCATED, nothing for the rest. */
function toItem(message: RawSseMessage, resumedAfter: string | undefined): StreamItem | undefined {
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
  if (
    event.type === "error" &&
    message.event === SSE_EVENT_NAMES.streamError &&
    streamErrorCode(message) === STREAM_ERROR_CODES.replayTruncated
  ) {
    return {
      kind: "gap",
      reason: STREAM_ERROR_CODES.replayTruncated,
      message: event.content.message,
      after: resumedAfter,
    };
  }
  if (event.id === undefined && message.id) event.id = message.id;
  return { kind: "event", event };
}
