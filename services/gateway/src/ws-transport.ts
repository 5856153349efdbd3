import { ERRORS, WS_CLOSE_CODES } from "@threadline/protocol";
import type WebSocket from "ws";
import { runCleanup } from "./run-cleanup.js";
import type { SseTransportOptions } from "./sse-transport.js";
import type { StreamEndReason } from "./types.js";

/**
 * As the SSE transport's (one budget, heartbeat, expiry), less `retry:`: a ping every
 * `heartbeatIntervalMs`, and a peer that answered none of the last two is gone (half-open).
 */
export type WsTransportOptions = Omit<SseTransportOptions, "retryMs">;

export interface WsTransport {
  /**
   * Sends one text frame, in order. `paced` frames (replay pages) wait for the socket instead of
   * counting against the budget: a page is bounded, and the feed reads the next only via `whenWritable`.
   */
  send(frame: string, paced?: boolean): void;
  /** Re-checks the buffer budget (after bytes were held back elsewhere). */
  checkBudget(): void;
  /** Resolves once everything sent so far is handed to the socket (or the transport is disposed). */
  whenWritable(): Promise<void>;
  /** A refreshed token: expiry moves to its `exp`. */
  setExpiry(expiresAtMs: number): void;
  /** Runs `cleanup` once, on dispose (at once if already disposed); cleanups run newest first. */
  defer(cleanup: () => unknown): void;
  /** THE way a connection ends: timers, the socket (with the close code of `reason`), every cleanup. */
  dispose(reason: StreamEndReason): void;
  readonly disposed: boolean;
}

interface Queued {
  frame: string;
  /** Counted against the budget (0 for paced frames). */
  bytes: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Frames go to the socket while less than this is unsent; beyond it they wait here, in order. A replay
 * page (paced) thus never fills the socket's buffer ahead of the budget that live frames are judged by.
 */
const WRITE_WINDOW_BYTES = 16 * 1024;
/** How long a cut-off client gets to take the close frame before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The WebSocket side of one client connection, the sibling of sse-transport.ts: a buffer budget on
 * `bufferedAmount` (slow-consumer cut-off), ping/pong heartbeats with half-open detection, token
 * expiry, and one dispose path that every ending — client gone, expiry, cut-off, missed pong,
 * shutdown — goes through.
 */
export function createWsTransport(socket: WebSocket, options: WsTransportOptions): WsTransport {
  const { log } = options;
  let disposed = false;
  let expiresAtMs = options.expiresAtMs;
  /** Frames waiting for the socket, in order. */
  const queue: Queued[] = [];
  let queuedBytes = 0;
  let waiters: (() => void)[] = [];
  let expiry: NodeJS.Timeout | undefined;
  const cleanups: (() => unknown)[] = [];

  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const writable = () => socket.bufferedAmount < WRITE_WINDOW_BYTES;
  // Every frame is written with this callback: as the socket drains, the queue moves on.
  const onSent = () => {
    if (!disposed) flush();
  };
  const flush = () => {
    while (queue.length > 0 && writable()) {
      const next = queue.shift() as Queued;
      queuedBytes -= next.bytes;
      socket.send(next.frame, onSent);
    }
    if (queue.length === 0 && writable()) wake();
  };
  const unsent = () => socket.bufferedAmount + queuedBytes + options.heldBytes();
  // Judged before each write, on what is still unsent (as the SSE transport does): one event larger
  // than the bound still goes out. Memory stays bounded by the budget plus one event plus one page.
  const overBudget = () => {
    if (unsent() <= options.maxBufferBytes) return false;
    options.metrics.slowConsumerCutoffs.inc();
    log.warn(
      { unsentBytes: unsent(), limit: options.maxBufferBytes },
      "slow consumer cut off (close 4008); it reconnects and resumes",
    );
    dispose("slow_consumer");
    return true;
  };
  const armExpiry = () => {
    clearTimeout(expiry);
    const left = expiresAtMs - options.now();
    expiry = setTimeout(
      () => (expiresAtMs > options.now() ? armExpiry() : options.onExpired()),
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  };

  // Half-open: nothing (no pong, no message) for two intervals. One missed pong is a busy peer.
  let silentIntervals = 0;
  const heartbeat = setInterval(() => {
    if (silentIntervals >= 2) {
      log.info("no pong for two heartbeat intervals: the peer is gone (half-open); closing");
      dispose("heartbeat_timeout");
      return;
    }
    silentIntervals += 1;
    socket.ping();
  }, options.heartbeatIntervalMs);
  const onAlive = () => {
    silentIntervals = 0;
  };
  const onClose = () => dispose("client_closed");
  socket.on("pong", onAlive);
  socket.on("message", onAlive);
  socket.on("close", onClose);
  armExpiry();

  function send(frame: string, paced = false) {
    // Paced frames are not judged: they only go out as the socket drains (see whenWritable). With
    // nothing unsent on the socket, the unsent bytes are the held ones, judged as they grew
    // (checkBudget): skipping the sum then saves a walk over every thread's held bytes per delivery.
    if (disposed) return;
    if (!paced && (queuedBytes > 0 || socket.bufferedAmount > 0) && overBudget()) return;
    if (queue.length === 0 && writable()) {
      socket.send(frame, onSent);
      return;
    }
    const bytes = paced ? 0 : Buffer.byteLength(frame);
    queue.push({ frame, bytes });
    queuedBytes += bytes;
  }

  function dispose(reason: StreamEndReason) {
    if (disposed) return;
    disposed = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    // The TOKEN_EXPIRED frames go out before the close; every other ending drops what is queued.
    if (reason === "token_expired") for (const queued of queue) socket.send(queued.frame);
    queue.length = 0;
    queuedBytes = 0;
    wake();
    socket.off("pong", onAlive);
    socket.off("message", onAlive);
    socket.off("close", onClose);
    closeSocket(socket, reason);
    log.debug({ reason }, "websocket connection ended");
    for (const cleanup of cleanups.splice(0).reverse()) runCleanup(cleanup, log, "connection");
  }

  return {
    send,
    checkBudget() {
      if (!disposed) overBudget();
    },
    whenWritable() {
      if (disposed || (queue.length === 0 && writable())) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    setExpiry(at) {
      expiresAtMs = at;
      if (!disposed) armExpiry();
    },
    defer(cleanup) {
      if (disposed) runCleanup(cleanup, log, "connection");
      else cleanups.push(cleanup);
    },
    dispose,
    get disposed() {
      return disposed;
    },
  };
}

/** The close code of each ending (WS_CLOSE_CODES, documented in docs/ARCHITECTURE.md). */
function closeSocket(socket: WebSocket, reason: StreamEndReason): void {
  if (socket.readyState === socket.CLOSED) return;
  switch (reason) {
    case "client_closed":
      return;
    case "heartbeat_timeout":
      // Nobody is there to read a close frame.
      socket.terminate();
      return;
    case "slow_consumer": {
      // The close frame queues behind what the client did not read: it sees 4008 if it ever reads
      // again; either way the socket (and the memory it holds) is gone after the grace period.
      socket.close(WS_CLOSE_CODES.slowConsumer, ERRORS.SLOW_CONSUMER.code);
      const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
      timer.unref();
      socket.once("close", () => clearTimeout(timer));
      return;
    }
    case "token_expired":
      socket.close(WS_CLOSE_CODES.tokenExpired, ERRORS.TOKEN_EXPIRED.code);
      return;
    case "shutdown":
      socket.close(WS_CLOSE_CODES.goingAway, ERRORS.SHUTTING_DOWN.code);
      return;
    default:
      socket.close(WS_CLOSE_CODES.goingAway);
  }
}
