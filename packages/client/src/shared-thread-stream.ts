import { type HistoryPage, isEventId, STREAM_ERROR_CODES } from "@threadline/protocol";
import { createAsyncQueue } from "./async-queue.js";
import { createBroadcastLocks } from "./broadcast-locks.js";
import { DEFAULT_FROM } from "./event-stream.js";
import { broadcastChannels, type ChannelFactory, type LockManagerLike, webLocks } from "./lock-manager.js";
import { createRecentIds } from "./recent-ids.js";
import type { ConnectionStateChange, EventStreamOptions, StreamItem } from "./types.js";

export interface ShareAcrossTabsOptions {
  /** Leader election; default `navigator.locks`, else an election over BroadcastChannel. */
  locks?: LockManagerLike;
  /** Relay between tabs; default `BroadcastChannel`. */
  channels?: ChannelFactory;
  /** Separates unrelated apps on one origin; default the gateway URL. */
  namespace?: string;
}

/**
 * What sharing needs of a thread: its id, its history pages and one stream of its own. The client's
 * ThreadHandle is one; declared here so this module does not import the client that imports it.
 */
export interface SharedThreadSource {
  readonly threadId: string;
  history(options?: { after?: string; limit?: number }): Promise<HistoryPage>;
  events(options?: EventStreamOptions): AsyncGenerator<StreamItem, void, undefined>;
}

type Relay =
  | { t: "item"; item: StreamItem }
  | { t: "state"; change: ConnectionStateChange }
  /** A tab that just started following asks the leader for its current state. */
  | { t: "hello" };

/**
 * The thread's events, with ONE gateway connection shared by every tab of this origin that watches the thread.
 * The tab holding the lock `threadline:<namespace>:<thread>` streams and relays each item over BroadcastChannel;
 * the others follow. When the leader goes (tab closed, stream aborted), the next tab takes the lock and resumes
 * from the last id it saw, so no event is lost; ids dedupe the overlap. A tab that joins late with `from` other
 * than "live" first reads what it missed from the API's history, then follows.
 */
export function createSharedThreadStream(
  thread: SharedThreadSource,
  options: EventStreamOptions & ShareAcrossTabsOptions & { namespace: string },
): AsyncGenerator<StreamItem, void, undefined> {
  const channels = options.channels ?? broadcastChannels();
  if (!channels)
    throw new TypeError("shareAcrossTabs needs BroadcastChannel; pass `channels` or do not share");
  const locks = options.locks ?? webLocks() ?? createBroadcastLocks(channels);
  const name = `threadline:${options.namespace}:${thread.threadId}`;
  const from = options.from ?? DEFAULT_FROM;
  const queue = createAsyncQueue<StreamItem>();
  const stop = new AbortController();
  const onUserAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onUserAbort, { once: true });
  const seen = createRecentIds();
  let lastEventId = from !== "live" && from !== "start" && isEventId(from) ? from : undefined;
  let role: "leader" | "follower" | "joining" = "joining";
  const held: StreamItem[] = [];
  let leaderState: ConnectionStateChange | undefined;

  const deliver = (item: StreamItem) => {
    if (item.kind === "event" && item.event.id !== undefined) {
      if (!seen.add(item.event.id)) return;
      lastEventId = item.event.id;
    }
    queue.push(item);
  };
  const channel = channels(name);
  const onMessage = ({ data }: { data: unknown }) => {
    const relay = data as Relay;
    if (!relay || typeof relay !== "object") return;
    if (role === "leader") {
      if (relay.t === "hello" && leaderState)
        channel.postMessage({ t: "state", change: leaderState } satisfies Relay);
      return;
    }
    if (relay.t === "item") {
      if (role === "joining") held.push(relay.item);
      else deliver(relay.item);
    } else if (relay.t === "state") {
      options.onStateChange?.({ ...relay.change, role: "follower" });
    }
  };
  channel.addEventListener("message", onMessage);

  const lead = async (startFrom: string) => {
    role = "leader";
    const stream = thread.events({
      from: lastEventId ?? startFrom,
      signal: stop.signal,
      ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      onStateChange: (change) => {
        leaderState = change;
        options.onStateChange?.({ ...change, role: "leader" });
        channel.postMessage({ t: "state", change } satisfies Relay);
      },
    });
    for await (const item of stream) {
      deliver(item);
      channel.postMessage({ t: "item", item } satisfies Relay);
    }
  };

  const run = async () => {
    // First tab in: lead right away from the requested position (the gateway replays it).
    // Web Locks refuses `signal` together with `ifAvailable` (NotSupportedError); this request never waits anyway.
    const led = await locks.request(name, { ifAvailable: true }, async (lock) => {
      if (!lock) return false;
      await lead(from);
      return true;
    });
    if (led || stop.signal.aborted) return;
    // Someone else leads: catch up from the log, then follow until it is our turn.
    if (from !== "live") await backfill();
    for (const item of held.splice(0)) deliver(item);
    role = "follower";
    channel.postMessage({ t: "hello" } satisfies Relay);
    await locks.request(name, { signal: stop.signal }, () => lead(from));
  };

  const backfill = async () => {
    let after = lastEventId ?? "0";
    for (let first = true; ; first = false) {
      const page = await thread.history({ after, limit: 500 });
      if (first && page.truncated && lastEventId) {
        deliver({
          kind: "gap",
          reason: STREAM_ERROR_CODES.replayTruncated,
          message: "history after this id was trimmed",
          after,
        });
      }
      for (const event of page.events) deliver({ kind: "event", event });
      if (!page.more || page.nextAfter === after) return;
      after = page.nextAfter;
    }
  };

  run().then(
    () => queue.end(),
    (error: unknown) => (stop.signal.aborted ? queue.end() : queue.fail(error)),
  );
  return queue.iterate(() => {
    stop.abort();
    options.signal?.removeEventListener("abort", onUserAbort);
    channel.removeEventListener("message", onMessage);
    channel.close();
  });
}
