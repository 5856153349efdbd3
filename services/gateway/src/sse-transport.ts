import type { ServerResponse } from "node:http";
import { encodeSseRetry, SSE_KEEPALIVE } from "@threadline/protocol";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.js";
import { runCleanup } from "./run-cleanup.js";
import type { StreamEndReason } from "./types.js";

export interface SseTransportOptions {
  log: Logger;
  metrics: Pick<GatewayMetrics, "slowConsumerCutoffs">;
  retryMs: number;
  heartbeatIntervalMs: number;
  /** Unsent bytes past which the client is cut off (it resumes with Last-Event-ID). */
  maxBufferBytes: number;
  /** Bytes held back elsewhere for this client (the feed's live messages during a replay). */
  heldBytes(): number;
  /** When the token stops being valid, ms since epoch. */
  expiresAtMs: number;
  now: () => number;
  /** The token expired: say so in-band, then dispose. */
  onExpired(): void;
}

export interface SseTransport {
  /** Sends the 200 and the `retry:` line; starts the heartbeat and the expiry timer. */
  open(res: ServerResponse, headers: Record<string, string | number | string[]>): void;
  /**
   * Writes one SSE frame, in order. `paced` frames (replay pages) wait for the socket instead of
   * counting against the budget: a page is bounded, and the feed reads the next only via `whenWritable`.
   */
  send(frame: string | Uint8Array, paced?: boolean): void;
  /** Re-checks the buffer budget (after bytes were held back elsewhere). */
  checkBudget(): void;
  /** Resolves once everything sent so far is handed to the socket (or the transport is disposed). */
  whenWritable(): Promise<void>;
  /** Runs `cleanup` once, on dispose (at once if already disposed); cleanups run newest first. */
  defer(cleanup: () => unknown): void;
  /** THE way a stream ends: timers, socket, then every deferred cleanup. Idempotent. */
  dispose(reason: StreamEndReason): void;
  readonly disposed: boolean;
}

interface Queued {
  frame: string | Uint8Array;
  /** Counted against the budget (0 for paced frames). */
  bytes: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The SSE side of one client connection: framing headers, a write queue with a buffer budget
 * (slow-consumer cut-off), heartbeat comments, token expiry, and one dispose path that every ending —
 * client gone, done, expiry, cut-off, shutdown, an abandoned setup — goes through.
 */
export function createSseTransport(options: SseTransportOptions): SseTransport {
  const { log } = options;
  let res: ServerResponse | undefined;
  let disposed = false;
  /** Frames waiting for the socket to drain, in order. */
  const queue: Queued[] = [];
  let queuedBytes = 0;
  let waiters: (() => void)[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  const cleanups: (() => unknown)[] = [];

  const unsent = () => (res ? res.writableLength : 0) + queuedBytes + options.heldBytes();
  // Judged before each write, on what is still unsent: one event larger than the bound must still go
  // out, or a client resuming in front of it would be cut off forever. Memory stays bounded by
  // SSE_MAX_BUFFER_BYTES plus one event (MAX_EVENT_BYTES) plus one replay page.
  const overBudget = () => {
    if (unsent() <= options.maxBufferBytes) return false;
    options.metrics.slowConsumerCutoffs.inc();
    log.warn(
      { unsentBytes: unsent(), limit: options.maxBufferBytes },
      "slow consumer cut off; it resumes with Last-Event-ID",
    );
    dispose("slow_consumer");
    return true;
  };

  let drainArmed = false;
  const armDrain = () => {
    if (drainArmed || !res) return;
    drainArmed = true;
    res.once("drain", onDrain);
  };
  const onDrain = () => {
    drainArmed = false;
    flush();
  };
  const flush = () => {
    if (disposed || !res) return;
    while (queue.length > 0 && !res.writableNeedDrain) {
      const next = queue.shift() as Queued;
      queuedBytes -= next.bytes;
      res.write(next.frame);
    }
    if (queue.length > 0 || (waiters.length > 0 && res.writableNeedDrain)) armDrain();
    else wake();
  };
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const armExpiry = () => {
    const left = options.expiresAtMs - options.now();
    expiry = setTimeout(
      () => (options.expiresAtMs > options.now() ? armExpiry() : options.onExpired()),
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  };

  const onClose = () => dispose("client_closed");

  function send(frame: string | Uint8Array, paced = false) {
    if (disposed || !res) return;
    // Paced frames are not judged: they only go out as the socket drains (see whenWritable). With
    // nothing unsent on the connection, the unsent bytes are the held ones, judged as they grew
    // (checkBudget): skipping the sum then saves a walk over every feed's held bytes per delivery.
    if (!paced && (queuedBytes > 0 || res.writableLength > 0) && overBudget()) return;
    if (queue.length === 0 && !res.writableNeedDrain) {
      res.write(frame);
      return;
    }
    const bytes = paced ? 0 : Buffer.byteLength(frame);
    queue.push({ frame, bytes });
    queuedBytes += bytes;
    armDrain();
  }

  function dispose(reason: StreamEndReason) {
    if (disposed) return;
    disposed = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    // `done` is a graceful end: what is still queued (a paced replay page, frames of other threads on
    // a multiplexed stream) goes out before the end; every other ending drops it.
    if (reason === "done" && res && !res.destroyed) for (const queued of queue) res.write(queued.frame);
    queue.length = 0;
    queuedBytes = 0;
    wake();
    if (res) {
      res.off("close", onClose);
      res.off("drain", onDrain);
      if (reason === "slow_consumer") res.destroy();
      else if (!res.writableEnded) res.end();
    }
    log.debug({ reason }, "stream ended");
    for (const cleanup of cleanups.splice(0).reverse()) runCleanup(cleanup, log, "stream");
  }

  return {
    open(response, headers) {
      if (disposed) return;
      res = response;
      res.on("close", onClose);
      // The body runs until the connection closes (HTTP/1.1 allows it; an SSE stream only ends with its
      // connection anyway), not in chunks: Node frames every chunk with a length line and a CRLF, four
      // buffers per event instead of one, ~15 % of the shared gateway's CPU per delivery in a fan-out
      // (pnpm bench, S2). `Connection: close` says so to the client and to proxies.
      res.removeHeader("transfer-encoding");
      res.writeHead(200, {
        ...headers,
        connection: "close",
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
      send(encodeSseRetry(options.retryMs));
      heartbeat = setInterval(() => send(SSE_KEEPALIVE), options.heartbeatIntervalMs);
      armExpiry();
    },
    send,
    checkBudget() {
      if (!disposed) overBudget();
    },
    whenWritable() {
      if (disposed || !res || (queue.length === 0 && !res.writableNeedDrain)) return Promise.resolve();
      const waiting = new Promise<void>((resolve) => waiters.push(resolve));
      armDrain();
      return waiting;
    },
    defer(cleanup) {
      if (disposed) runCleanup(cleanup, log, "stream");
      else cleanups.push(cleanup);
    },
    dispose,
    get disposed() {
      return disposed;
    },
  };
}
