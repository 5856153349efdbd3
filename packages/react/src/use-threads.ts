import {
  type ConnectionState,
  createThreadView,
  reduceThread,
  type ThreadlineClient,
  type ThreadView,
  type WatchChange,
  type WatchItem,
  type WatchOptions,
  type WatchStateChange,
} from "@threadline/client";
import { useEffect, useRef, useState } from "react";

export interface UseThreadsOptions extends Pick<WatchOptions, "from" | "backoff" | "transport"> {
  client: ThreadlineClient;
  /** False to stay disconnected. Default true. */
  enabled?: boolean;
  /** Called on each connection state change, besides updating `state`. */
  onStateChange?: (change: WatchStateChange) => void;
}

export interface ThreadsStream {
  /** One view per watched thread (a thread appears once its first event arrived). */
  views: Readonly<Record<string, ThreadView>>;
  /** Threads the gateway refused or ended (FORBIDDEN, THREAD_DELETED, …), with why. */
  errors: Readonly<Record<string, { code: string; message: string }>>;
  state: ConnectionState;
  /** The latest state change in full: attempt, reason, delay, every thread's resume position. */
  connection: WatchStateChange | undefined;
  /** Set when the connection failed for good (401/403, or a failing getToken). */
  error: unknown;
}

/** A push-fed async iterable of changes: the hook's thread list, followed over ONE connection. */
function createChanges() {
  const pending: WatchChange[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  return {
    push(change: WatchChange) {
      pending.push(change);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<WatchChange> {
      while (!done) {
        const next = pending.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/**
 * Watches many threads over ONE gateway connection (`client.watch`) and keeps a view per thread — the
 * sibling of `useThreadStream` for boards and multi-agent UIs. Adding or removing ids subscribes or
 * unsubscribes on the same connection (no reconnect on the WebSocket; the SSE fallback reopens its one
 * stream from the positions held); it reconnects and resumes by itself, restarts when the client, `from`,
 * `transport` or `enabled` change, and disconnects on unmount.
 */
export function useThreads(threadIds: readonly string[], options: UseThreadsOptions): ThreadsStream {
  const { client, enabled = true, from = "snapshot", transport } = options;
  const latest = useRef(options);
  latest.current = options;
  const [views, setViews] = useState<Record<string, ThreadView>>({});
  const [errors, setErrors] = useState<Record<string, { code: string; message: string }>>({});
  const [connection, setConnection] = useState<WatchStateChange | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const changes = useRef<{ push(change: WatchChange): void; watched: Set<string> } | undefined>(undefined);
  // A stable key: a new array with the same ids (rendered inline) changes nothing.
  const key = [...new Set(threadIds)].sort().join(",");
  const wanted = useRef(key);
  wanted.current = key;

  /** Sends the difference between the list and what the connection watches (no reconnect). */
  const sync = useRef((list: string) => {
    const target = changes.current;
    if (!target) return;
    const ids = new Set(list === "" ? [] : list.split(","));
    const add = [...ids].filter((t) => !target.watched.has(t));
    const remove = [...target.watched].filter((t) => !ids.has(t));
    if (add.length === 0 && remove.length === 0) return;
    for (const t of add) target.watched.add(t);
    for (const t of remove) target.watched.delete(t);
    target.push({ add, remove });
    if (remove.length > 0) {
      const drop = <T>(record: Record<string, T>) =>
        Object.fromEntries(Object.entries(record).filter(([t]) => !remove.includes(t)));
      setViews(drop);
      setErrors(drop);
    }
  }).current;

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    const feed = createChanges();
    changes.current = { push: (c) => feed.push(c), watched: new Set() };
    setViews({});
    setErrors({});
    setConnection(undefined);
    setError(undefined);
    const { backoff } = latest.current;
    const stream = client.watch(feed, {
      from,
      ...(transport === undefined ? {} : { transport }),
      ...(backoff === undefined ? {} : { backoff }),
      signal: controller.signal,
      onStateChange: (change) => {
        if (controller.signal.aborted) return;
        setConnection(change);
        latest.current.onStateChange?.(change);
      },
    });
    sync(wanted.current);
    const apply = (item: WatchItem) => {
      if (item.kind === "error") {
        if (!item.retrying)
          setErrors((c) => ({ ...c, [item.threadId]: { code: item.code, message: item.message } }));
        return;
      }
      setViews((current) => ({
        ...current,
        [item.threadId]: reduceThread(current[item.threadId] ?? createThreadView(), item),
      }));
    };
    (async () => {
      for await (const item of stream) {
        if (controller.signal.aborted) break;
        apply(item);
      }
    })().catch((failure: unknown) => {
      if (!controller.signal.aborted) setError(failure);
    });
    return () => {
      controller.abort();
      feed.end();
      changes.current = undefined;
    };
  }, [client, enabled, from, transport, sync]);

  // The list itself: only the difference travels, on the connection the effect above opened.
  useEffect(() => sync(key), [key, sync]);

  return {
    views,
    errors,
    state: connection?.state ?? (enabled ? "connecting" : "closed"),
    connection,
    error,
  };
}
