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
  return new ConnectionTransport(options);
}

/**
 * A class, not a closure: its methods live once on the prototype instead of as a dozen functions and
 * a context per connection, which idle streams pay for in memory (docs/BENCHMARKS.md, round 5).
 */
class ConnectionTransport implements SseTransport {
  private res: ServerResponse | undefined;
  private isDisposed = false;
  /** Frames waiting for the socket to drain, in order. */
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private waiters: (() => void)[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private readonly cleanups: (() => unknown)[] = [];
  private drainArmed = false;
  // Listeners keep one identity, so dispose can remove them.
  private readonly onClose = () => this.dispose("client_closed");
  private readonly onDrain = () => {
    this.drainArmed = false;
    this.flush();
  };

  constructor(private readonly options: SseTransportOptions) {}

  get disposed(): boolean {
    return this.isDisposed;
  }

  open(response: ServerResponse, headers: Record<string, string | number | string[]>): void {
    if (this.isDisposed) return;
    this.res = response;
    response.on("close", this.onClose);
    // The body runs until the connection closes (HTTP/1.1 allows it; an SSE stream only ends with its
    // connection anyway), not in chunks: Node frames every chunk with a length line and a CRLF, four
    // buffers per event instead of one, ~15 % of the shared gateway's CPU per delivery in a fan-out
    // (pnpm bench, S2). `Connection: close` says so to the client and to proxies.
    response.removeHeader("transfer-encoding");
    response.writeHead(200, {
      ...headers,
      connection: "close",
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    });
    this.send(encodeSseRetry(this.options.retryMs));
    this.heartbeat = setInterval(() => this.send(SSE_KEEPALIVE), this.options.heartbeatIntervalMs);
    this.armExpiry();
  }

  send(frame: string | Uint8Array, paced = false): void {
    const res = this.res;
    if (this.isDisposed || !res) return;
    // Paced frames are not judged: they only go out as the socket drains (see whenWritable). With
    // nothing unsent on the connection, the unsent bytes are the held ones, judged as they grew
    // (checkBudget): skipping the sum then saves a walk over every feed's held bytes per delivery.
    if (!paced && (this.queuedBytes > 0 || res.writableLength > 0) && this.overBudget()) return;
    if (this.queue.length === 0 && !res.writableNeedDrain) {
      res.write(frame);
      return;
    }
    const bytes = paced ? 0 : Buffer.byteLength(frame);
    this.queue.push({ frame, bytes });
    this.queuedBytes += bytes;
    this.armDrain();
  }

  checkBudget(): void {
    if (!this.isDisposed) this.overBudget();
  }

  whenWritable(): Promise<void> {
    const res = this.res;
    if (this.isDisposed || !res || (this.queue.length === 0 && !res.writableNeedDrain)) {
      return Promise.resolve();
    }
    const waiting = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.armDrain();
    return waiting;
  }

  defer(cleanup: () => unknown): void {
    if (this.isDisposed) runCleanup(cleanup, this.options.log, "stream");
    else this.cleanups.push(cleanup);
  }

  dispose(reason: StreamEndReason): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
    const res = this.res;
    // `done` is a graceful end: what is still queued (a paced replay page, frames of other threads on
    // a multiplexed stream) goes out before the end; every other ending drops it.
    if (reason === "done" && res && !res.destroyed) for (const queued of this.queue) res.write(queued.frame);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wake();
    if (res) {
      res.off("close", this.onClose);
      res.off("drain", this.onDrain);
      if (reason === "slow_consumer") res.destroy();
      else if (!res.writableEnded) res.end();
    }
    const { log } = this.options;
    log.debug({ reason }, "stream ended");
    for (const cleanup of this.cleanups.splice(0).reverse()) runCleanup(cleanup, log, "stream");
  }

  private unsent(): number {
    return (this.res ? this.res.writableLength : 0) + this.queuedBytes + this.options.heldBytes();
  }

  // Judged before each write, on what is still unsent: one event larger than the bound must still go
  // out, or a client resuming in front of it would be cut off forever. Memory stays bounded by
  // SSE_MAX_BUFFER_BYTES plus one event (MAX_EVENT_BYTES) plus one replay page.
  private overBudget(): boolean {
    const { maxBufferBytes } = this.options;
    if (this.unsent() <= maxBufferBytes) return false;
    this.options.metrics.slowConsumerCutoffs.inc();
    this.options.log.warn(
      { unsentBytes: this.unsent(), limit: maxBufferBytes },
      "slow consumer cut off; it resumes with Last-Event-ID",
    );
    this.dispose("slow_consumer");
    return true;
  }

  private armDrain(): void {
    if (this.drainArmed || !this.res) return;
    this.drainArmed = true;
    this.res.once("drain", this.onDrain);
  }

  private flush(): void {
    const res = this.res;
    if (this.isDisposed || !res) return;
    while (this.queue.length > 0 && !res.writableNeedDrain) {
      const next = this.queue.shift() as Queued;
      this.queuedBytes -= next.bytes;
      res.write(next.frame);
    }
    if (this.queue.length > 0 || (this.waiters.length > 0 && res.writableNeedDrain)) this.armDrain();
    else this.wake();
  }

  private wake(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const resolve of woken) resolve();
  }

  private armExpiry(): void {
    const { expiresAtMs, now } = this.options;
    const left = expiresAtMs - now();
    this.expiry = setTimeout(
      () => (expiresAtMs > now() ? this.armExpiry() : this.options.onExpired()),
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  }
}
