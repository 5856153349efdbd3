import type { ThreadEvent } from "@threadline/protocol";
import type { ThreadlineError } from "./threadline-error.js";
import type { StateReason } from "./types.js";

/** The methods the watch loop calls on the open connection when its thread list changes. */
export interface WatchLink {
  subscribe(threadId: string): void;
  unsubscribe(threadId: string): void;
}

/**
 * What a transport (WebSocket or multiplexed SSE) sees of a watch: the threads to carry, where each
 * starts, and where their events, gaps and errors go. Both transports feed the same state, so a
 * fallback or a reconnect resumes every thread from the same positions.
 */
export interface WatchSession {
  readonly signal: AbortSignal;
  /** The watched threads, in the order they were added. */
  readonly active: ReadonlySet<string>;
  /** A thread's resume position: its last event id, the start it was confirmed at, "0" for `from: "start"`. */
  startOf(threadId: string): string | undefined;
  /**
   * `from: "snapshot"`: a thread without a position joins with a snapshot of its run so far. Until the
   * snapshot arrives, the start the gateway confirms for it is not a position: joining again is.
   */
  readonly snapshot: boolean;
  /** The gateway confirmed where a thread starts: its resume position until an event arrives. */
  confirmed(threadId: string, after: string): void;
  event(event: ThreadEvent & { threadId: string }): void;
  gap(threadId: string, message: string, after: string | undefined): void;
  /** A thread's subscription failed; unless `retrying`, it is no longer watched. */
  threadError(threadId: string, code: string, message: string, retrying: boolean): void;
  /** The connection is up (resets the backoff and reports `live`). */
  opened(): void;
  /** The connection takes subscription changes from here on (undefined: nothing to tell). */
  link(link: WatchLink | undefined): void;
  /** The delay before the next retry of one thread's subscription (the watch's backoff). */
  retryDelay(): number;
}

/** How one connection of a watch ended, for the loop to decide what comes next. */
export type WatchOutcome =
  | { type: "aborted" }
  /** The thread list changed (SSE carries it in the URL) or threads were dropped: open again at once. */
  | { type: "reopen" }
  /** The WebSocket cannot get through to this gateway: use the multiplexed SSE route from now on. */
  | { type: "fallback"; why: string }
  | { type: "token_expired" }
  /** The gateway answered the request with an HTTP error. */
  | { type: "refused"; error: ThreadlineError; retryAfterMs: number | undefined }
  | { type: "ended"; reason: StateReason; error?: unknown };
