import type { STREAM_ERROR_CODES, ThreadEvent } from "@threadline/protocol";

/** Why the SDK asks for a token: `expired` follows an in-band TOKEN_EXPIRED, so cached tokens must be refreshed. */
export type TokenReason = "initial" | "reconnect" | "expired";

/** Returns a JWT (or `undefined` for an anonymous gateway). Called before every request and every (re)connection. */
export type GetToken = (context: { reason: TokenReason }) => string | undefined | Promise<string | undefined>;

/** The subset of `fetch` the SDK uses; defaults to `globalThis.fetch` (browsers, Node 20). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ThreadlineClientOptions {
  /** Base URL of the API, e.g. `http://localhost:3000`. */
  apiUrl: string;
  /** Base URL of the SSE gateway, e.g. `http://localhost:3001`. */
  gatewayUrl: string;
  getToken: GetToken;
  fetch?: FetchLike;
  /** The WebSocket class for `watch()`; defaults to `globalThis.WebSocket` (on Node 20, pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
}

/** Connection states of one thread stream. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "closed";

/** Why the stream is reconnecting (on `reconnecting`) or closed (on `closed`). */
export type StateReason =
  | "network"
  | "server_closed"
  | "heartbeat_timeout"
  | "token_expired"
  | "http_error"
  | "aborted"
  | "fatal"
  /** An `untilDone` stream delivered the run's end. */
  | "done"
  /** `client.watch`: the WebSocket cannot get through, the watch moves to the multiplexed SSE route. */
  | "fallback";

/** Reported through `onStateChange` each time the connection changes state. */
export interface ConnectionStateChange {
  state: ConnectionState;
  /** On `live`: true when this connection resumed from a known event id (Last-Event-ID). */
  resumed: boolean;
  /** The last event id seen so far (the resume position). */
  lastEventId: string | undefined;
  /** Consecutive failed attempts before this change (0 when healthy). */
  attempt: number;
  reason?: StateReason;
  /** On `reconnecting`: milliseconds until the next attempt. */
  delayMs?: number;
  error?: unknown;
  /** Which tab role delivers this stream, for shared (cross-tab) streams. */
  role?: "leader" | "follower";
}

/** A gap the gateway reported: events between `after` and the first event that follows were lost. */
export interface GapItem {
  kind: "gap";
  reason: typeof STREAM_ERROR_CODES.replayTruncated;
  message: string;
  /** The id the stream asked to resume after (undefined for `from: "start"`). */
  after: string | undefined;
}

export interface EventItem {
  kind: "event";
  event: ThreadEvent;
}

/** What `thread(id).events()` yields. Connection state is reported through `onStateChange`, not in-band. */
export type StreamItem = EventItem | GapItem;

/**
 * What `thread(id).rawEvents()` yields: one SSE message exactly as the gateway sent it. `event` is the SSE
 * event name (`message` when the frame had none), `data` the JSON text unparsed.
 */
export interface RawSseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Where a stream starts: only new events, everything retained, the latest run's state so far as one
 * `snapshot` delta then live (`?snapshot=1`; reduceRun/reduceThread apply it), or after a known event id.
 */
export type StreamFrom = "live" | "start" | "snapshot" | (string & {});

export interface EventStreamOptions {
  /**
   * Default `"snapshot"`: a run in progress arrives as its state so far in one event, then live (reconnects
   * resume by Last-Event-ID from it). `"live"`: only what is published from now on.
   */
  from?: StreamFrom;
  signal?: AbortSignal;
  /** Reconnect when nothing (not even a keepalive) arrives for this long. Default 37,500 ms (2.5 × 15 s). */
  heartbeatTimeoutMs?: number;
  onStateChange?: (change: ConnectionStateChange) => void;
  /**
   * Ask the gateway for `?until=done` and end after the run's end: its `done`, a run's `error`, or a
   * stream error other than REPLAY_TRUNCATED (the state then closes with reason `done`).
   */
  untilDone?: boolean;
  /** Backoff tuning. Defaults: initial 1,000 ms (or the server's `retry:`), max 30,000 ms. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number; random?: () => number };
}

/** The part of the WHATWG WebSocket the SDK uses (browsers, Node 22+, or the `ws` package's class). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;
