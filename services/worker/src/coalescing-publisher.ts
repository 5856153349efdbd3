import type { EventDraft } from "@threadline/protocol";
import type { EventPublisher, Published, PublishTarget } from "@threadline/redis";

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
   * Publishes an event. A token may only be buffered (resolves at once); any other event first sends
   * the buffered tokens, then itself, and resolves once it is published. Rejects with an earlier
   * failure so the run stops.
   */
  publish(event: EventDraft): Promise<void>;
  /** Sends buffered tokens and waits until everything handed in is published. */
  flush(): Promise<void>;
  /** Drops the timer (after a failure); buffered tokens are not sent. */
  dispose(): void;
}

const DEFAULT_MAX_BATCH_CHARS = 64 * 1024;

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
  publisher: Pick<EventPublisher, "publish">,
  target: PublishTarget,
  options: CoalescingOptions,
): RunPublisher {
  const maxBatchChars = options.maxBatchChars ?? DEFAULT_MAX_BATCH_CHARS;
  let buffer = "";
  /** The agent path of the buffered tokens: only one agent's consecutive tokens are merged. */
  let bufferAgent: EventDraft["agent"];
  /** Pending while a window is open: tokens are held until it fires. */
  let timer: NodeJS.Timeout | undefined;
  let tail: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let sent = 0;

  const send = (event: EventDraft): Promise<void> => {
    // Numbered when handed in, so the number of an event never depends on timing.
    const idempotencyKey = `${options.attempt}:${++sent}`;
    tail = tail.then(async () => {
      if (failure) return;
      try {
        const published = await publisher.publish(target, event, {
          idempotencyKey,
          attempt: options.attempt,
        });
        options.onPublished?.(event, published);
      } catch (error) {
        failure = { error };
      }
    });
    return tail;
  };
  const sendTokens = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const content = buffer;
    buffer = "";
    void send({ type: "token", content, ...(bufferAgent ? { agent: bufferAgent } : {}) });
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
  const settle = async () => {
    await tail;
    if (failure) throw failure.error;
  };

  return {
    async publish(event) {
      if (failure) throw failure.error;
      if (options.coalesceMs <= 0) {
        await send(event);
        return settle();
      }
      if (event.type === "token") {
        if (timer === undefined) {
          openWindow();
          void send(event);
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
      await send(event);
      return settle();
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
