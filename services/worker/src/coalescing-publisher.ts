import { CHECKPOINT_KIND, type EventDraft } from "@threadline/protocol";
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
   * Publishes an event, after the buffered tokens. An event that needs confirmation (`confirms`: a
   * tool call, a checkpoint, an error) resolves once it is published, or rejects with why it was not
   * (refused, or an earlier event of the run failed). Any other event (tokens, status, other deltas)
   * resolves once buffered or queued, unless the queue is full (back-pressure); if it is refused, the
   * run's next confirmed event, publish or flush rejects with why. Rejects with an earlier failure so
   * the run stops.
   */
  publish(event: EventDraft): Promise<void>;
  /** Sends buffered tokens and waits until everything handed in is published. */
  flush(): Promise<void>;
  /** Drops the timer (after a failure); buffered tokens are not sent. */
  dispose(): void;
}

const DEFAULT_MAX_BATCH_CHARS = 64 * 1024;
/** What `publish` answers for an event that is only queued. */
const QUEUED = Promise.resolve();
/**
 * At most this many queued events go in one script call (and a token waits for its call once this
 * many are queued: an agent faster than Redis is held back instead of queueing without bound).
 */
export const MAX_EVENTS_PER_CALL = 128;
/** ...and at most about this many characters of token text (a coalesced token may be 64k), so one call stays short. */
const MAX_CHARS_PER_CALL = 512 * 1024;

/**
 * Events whose caller waits until they are published (or refused) before it goes on:
 * - a `tool_call`: the agent may run the tool next, and a superseded attempt (STALE_ATTEMPT) or an
 *   ended run (RUN_ENDED) must be refused before it does, not after;
 * - a `checkpoint`: `ctx.checkpoint` resolves once the step and its checkpoint are in the log;
 * - an `error`: the worker's own, right before the run's final transition.
 * Everything else only tells the clients something: it resolves once queued, so an agent's
 * consecutive events (status, results, the first token) share one script call instead of one round
 * trip each. Their order, seq, fencing and idempotency are the publish script's, unchanged.
 */
export function confirms(event: EventDraft): boolean {
  if (event.type === "error") return true;
  if (event.type !== "delta") return false;
  const kind = (event.content as { kind?: unknown }).kind;
  return kind === "tool_call" || kind === CHECKPOINT_KIND;
}

/** An event handed in and not yet published; `settle` is set when its caller waits for it. */
interface Queued extends BatchItem {
  chars: number;
  firstToken?: boolean;
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
 *
 * A token's trailing high surrogate (half of a pair an agent split across two tokens) is held for the
 * run's next token, so the pair is published whole; one that cannot be completed (another event, or
 * another agent's token, comes next, or the run flushes) goes out first as U+FFFD. With coalescing
 * on or off alike (docs/ARCHITECTURE.md, "Lone UTF-16 surrogates").
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
   * message). An event handed in while nothing is in flight starts a call at the end of this turn of
   * the event loop, so what the agent hands in without waiting (a status, a tool result, the next
   * tool call) shares it instead of each waiting a round trip for the one before. A call starts at
   * once for an event whose caller waits, and for the run's first token (time to first token).
   */
  const queue: Queued[] = [];
  /** True from the moment a call is scheduled until the queue is empty again. */
  let inFlight = false;
  /** The call scheduled for the end of this event-loop turn, not started yet. */
  let scheduled: NodeJS.Immediate | undefined;
  /** The run's first token ends its call (time to first token: nothing after it waits in that call). */
  let firstTokenQueued = false;
  /** Resolved when the queue is empty and nothing is in flight (flush). */
  let idle: (() => void)[] = [];

  const fail = (error: unknown, unsent: Queued[]) => {
    failure ??= { error };
    for (const item of unsent) item.settle?.(failure.error);
  };
  const pump = async () => {
    scheduled = undefined;
    while (queue.length > 0 && !failure) {
      let chars = 0;
      let count = 0;
      while (count < queue.length && count < MAX_EVENTS_PER_CALL) {
        const next = queue[count] as Queued;
        if (count > 0 && chars + next.chars > MAX_CHARS_PER_CALL) break;
        chars += next.chars;
        count++;
        if (next.firstToken) break;
      }
      const batch = queue.splice(0, count);
      try {
        const { published, refused } =
          batch.length === 1
            ? { published: [await publishOne(batch[0] as Queued)], refused: undefined }
            : await publisher.publishBatch(
                target,
                batch.map(({ event }) => ({ event })),
                // A batch is sent once (ioredis may send that same call again, never regroup its
                // events), so its first event's key stands for the call: the script's call-key form.
                { attempt: options.attempt, callKey: (batch[0] as Queued).idempotencyKey },
              );
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
    if (event.type === "token" && !firstTokenQueued) firstTokenQueued = item.firstToken = true;
    const settled = wait
      ? new Promise<void>((resolve, reject) => {
          item.settle = (error) => (error === undefined ? resolve() : reject(error));
        })
      : undefined;
    queue.push(item);
    if (!inFlight) {
      inFlight = true;
      scheduled = setImmediate(pump);
    }
    if (scheduled && (wait || item.firstToken)) {
      clearImmediate(scheduled);
      void pump();
    }
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
  /**
   * Queues an event; its caller waits when it `confirms`, or when the queue is full (back-pressure).
   * Not async: an event nobody waits for costs no promise of its own.
   */
  const queueEvent = (event: EventDraft): Promise<void> =>
    send(event, confirms(event) || queue.length >= MAX_EVENTS_PER_CALL) ?? QUEUED;
  const publishCoalesced = async (event: EventDraft) => {
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
    return queueEvent(event);
  };

  const route = options.coalesceMs <= 0 ? queueEvent : publishCoalesced;
  /**
   * A high surrogate that ended the run's latest token, held back for the run's next token: an agent
   * that cuts its text by UTF-16 code units splits a pair across two tokens, and each half alone would
   * reach the client as U+FFFD. With `heldAgent`, the agent path of the token it ended.
   */
  let held: string | undefined;
  let heldAgent: EventDraft["agent"];
  /** Sends the held surrogate as U+FFFD, before anything that cannot complete its pair. */
  const releaseHeld = (): Promise<void> | undefined => {
    if (held === undefined) return undefined;
    held = undefined;
    return route({ type: "token", content: REPLACEMENT, ...(heldAgent ? { agent: heldAgent } : {}) });
  };
  /** `publish` when a surrogate is held or this token ends with one (rare: off the hot path). */
  const publishCarried = async (event: EventDraft): Promise<void> => {
    if (event.type !== "token" || (held !== undefined && !samePath(heldAgent, event.agent))) {
      await releaseHeld();
      if (event.type === "token" && endsWithHighSurrogate(event.content)) return publishCarried(event);
      return route(event);
    }
    let content = held === undefined ? event.content : held + event.content;
    held = undefined;
    if (endsWithHighSurrogate(content)) {
      held = content.slice(-1);
      heldAgent = event.agent;
      content = content.slice(0, -1);
    }
    // The rest of a token that only held a high surrogate: nothing to send yet.
    if (content === "") return;
    return route({ ...event, content });
  };

  return {
    publish(event) {
      if (failure) return Promise.reject(failure.error);
      if (held !== undefined || (event.type === "token" && endsWithHighSurrogate(event.content))) {
        return publishCarried(event);
      }
      return route(event);
    },
    async flush() {
      // The run's text ends here (or pauses for the final transition): a held surrogate is lone.
      await releaseHeld();
      sendTokens();
      return settle();
    },
    dispose() {
      clearTimeout(timer);
      timer = undefined;
      buffer = "";
      held = undefined;
    },
  };
}

/** What a UTF-8 decoder makes of a lone surrogate, and what one becomes when published. */
const REPLACEMENT = "\uFFFD";

function endsWithHighSurrogate(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

function samePath(a: EventDraft["agent"], b: EventDraft["agent"]): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
