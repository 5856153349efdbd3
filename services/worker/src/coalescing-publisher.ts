import type { EventDraft } from "@threadline/protocol";
import type { BatchItem, EventPublisher, Published, PublishTarget } from "@threadline/redis";

export interface CoalescingOptions {
  /**
   * The attempt this publisher speaks for: every event carries it as the script's fencing token and
   * gets the idempotency key `<attempt>:<n>` (n counts this attempt's events), so a command ioredis
   * re-sends after a dropped connection appends nothing the second time.
   */
  attempt: number;
  /**
   * Consecutive tokens within this window become one event; 0 publishes every token alone. A token
   * that finds no window open (the run's first, or the first after a quiet spell) goes out at once.
   */
  coalesceMs: number;
  /** A batch is sent early once it holds this many characters (keeps events far below MAX_EVENT_BYTES). */
  maxBatchChars?: number;
  /** Called after each event is in the log and on the channel. */
  onPublished?: (event: EventDraft, published: Published) => void;
}

/** One run's publisher: events go out in the order they were handed in. */
export interface RunPublisher {
  /**
   * Publishes an event. A token may only be buffered or queued (resolves at once); any other event
   * first sends the buffered tokens, then itself, and resolves once it is published, or rejects with
   * why it was not (refused, or an earlier event of the run failed). Rejects with an earlier failure
   * so the run stops.
   */
  publish(event: EventDraft): Promise<void>;
  /** Sends buffered tokens and waits until everything handed in is published. */
  flush(): Promise<void>;
  /** Drops the timer (after a failure); buffered tokens are not sent. */
  dispose(): void;
}

const DEFAULT_MAX_BATCH_CHARS = 64 * 1024;
/**
 * At most this many queued events go in one script call (and a token waits for its call once this
 * many are queued: an agent faster than Redis is held back instead of queueing without bound).
 */
export const MAX_EVENTS_PER_CALL = 128;
/** ...and at most about this many characters of token text (a coalesced token may be 64k), so one call stays short. */
const MAX_CHARS_PER_CALL = 512 * 1024;

/** An event handed in and not yet published; `settle` is set when its caller waits for it. */
interface Queued extends BatchItem {
  chars: number;
  settle?: (error?: unknown) => void;
}

/**
 * Wraps the atomic publisher for one run, merging consecutive token events (`TOKEN_COALESCE_MS`):
 * a fast model then costs one Redis round trip and one SSE frame per few milliseconds instead of one
 * per token, while the concatenated text and the order of events stay exactly the same.
 *
 * Leading edge: a token arriving when no window is open is published at once and opens one; tokens
 * within the window are held and sent when it closes, which opens the next window if it sent any.
 * So the first token of a run reaches the client without waiting out the window (POST → first token,
 * `pnpm bench` S4), and a steady stream still costs one event per window.
 */
export function createCoalescingPublisher(
  publisher: EventPublisher,
  target: PublishTarget,
  options: CoalescingOptions,
): RunPublisher {
  const maxBatchChars = options.maxBatchChars ?? DEFAULT_MAX_BATCH_CHARS;
  let buffer = "";
  /** The agent path of the buffered tokens: only one agent's consecutive tokens are merged. */
  let bufferAgent: EventDraft["agent"];
  /** Pending while a window is open: tokens are held until it fires. */
  let timer: NodeJS.Timeout | undefined;
  let failure: { error: unknown } | undefined;
  let sent = 0;
  /**
   * Natural batching: one script call of the run at a time. Events handed in while it is in flight
   * queue up and all go in the next call (publishBatch: each still its own seq, log entry and live
   * message). The first event, and any event when nothing is in flight, goes at once: no added latency.
   */
  const queue: Queued[] = [];
  let inFlight = false;
  /** Resolved when the queue is empty and nothing is in flight (flush). */
  let idle: (() => void)[] = [];

  const fail = (error: unknown, unsent: Queued[]) => {
    failure ??= { error };
    for (const item of unsent) item.settle?.(failure.error);
  };
  const pump = async () => {
    inFlight = true;
    while (queue.length > 0 && !failure) {
      let chars = 0;
      let count = 0;
      while (count < queue.length && count < MAX_EVENTS_PER_CALL) {
        const next = queue[count] as Queued;
        if (count > 0 && chars + next.chars > MAX_CHARS_PER_CALL) break;
        chars += next.chars;
        count++;
      }
      const batch = queue.splice(0, count);
      try {
        const { published, refused } =
          batch.length === 1
            ? { published: [await publishOne(batch[0] as Queued)], refused: undefined }
            : await publisher.publishBatch(target, batch, { attempt: options.attempt });
        published.forEach((result, i) => {
          const item = batch[i] as Queued;
          options.onPublished?.(item.event, result);
          item.settle?.();
        });
        if (refused) fail(refused, batch.slice(published.length));
      } catch (error) {
        fail(error, batch);
      }
    }
    // After a failure nothing more is sent: whoever waits for a queued event hears why.
    if (failure) fail(failure.error, queue.splice(0));
    inFlight = false;
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };
  const publishOne = (item: Queued) =>
    publisher.publish(target, item.event, {
      ...(item.idempotencyKey ? { idempotencyKey: item.idempotencyKey } : {}),
      attempt: options.attempt,
    });

  /** Queues an event; the promise (when `wait`) settles once it is published or refused. */
  const send = (event: EventDraft, wait: boolean): Promise<void> | undefined => {
    // Numbered when handed in, so the number of an event never depends on timing.
    const idempotencyKey = `${options.attempt}:${++sent}`;
    if (failure) return wait ? Promise.reject(failure.error) : undefined;
    const item: Queued = {
      event,
      idempotencyKey,
      chars: typeof event.content === "string" ? event.content.length : 256,
    };
    const settled = wait
      ? new Promise<void>((resolve, reject) => {
          item.settle = (error) => (error === undefined ? resolve() : reject(error));
        })
      : undefined;
    queue.push(item);
    if (!inFlight) void pump();
    return settled;
  };
  const sendTokens = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const content = buffer;
    buffer = "";
    send({ type: "token", content, ...(bufferAgent ? { agent: bufferAgent } : {}) }, false);
  };
  const openWindow = () => {
    timer = setTimeout(closeWindow, options.coalesceMs);
  };
  // The window ends: what it held goes out, and that send opens the next window (more may follow).
  const closeWindow = () => {
    timer = undefined;
    if (buffer.length === 0) return;
    sendTokens();
    openWindow();
  };
  /** Waits until everything handed in so far was published; rejects with the run's failure. */
  const settle = async () => {
    if (inFlight) await new Promise<void>((resolve) => idle.push(resolve));
    if (failure) throw failure.error;
  };
  /** A token that may go without its caller waiting, unless the queue is full (back-pressure). */
  const queueToken = async (event: EventDraft) => {
    const full = queue.length >= MAX_EVENTS_PER_CALL;
    await send(event, full);
  };

  return {
    async publish(event) {
      if (failure) throw failure.error;
      if (options.coalesceMs <= 0) {
        if (event.type === "token") return queueToken(event);
        return send(event, true);
      }
      if (event.type === "token") {
        if (timer === undefined) {
          openWindow();
          send(event, false);
          return;
        }
        // Another agent's token (a multi-agent run): what is held so far goes out under its own path.
        if (buffer.length > 0 && !samePath(bufferAgent, event.agent)) {
          sendTokens();
          openWindow();
        }
        bufferAgent = event.agent;
        buffer += event.content;
        if (buffer.length >= maxBatchChars) {
          sendTokens();
          openWindow();
          return settle();
        }
        return;
      }
      sendTokens();
      return send(event, true);
    },
    async flush() {
      sendTokens();
      return settle();
    },
    dispose() {
      clearTimeout(timer);
      timer = undefined;
      buffer = "";
    },
  };
}

function samePath(a: EventDraft["agent"], b: EventDraft["agent"]): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
