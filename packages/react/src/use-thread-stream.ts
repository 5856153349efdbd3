import {
  type ConnectionState,
  type ConnectionStateChange,
  createThreadView,
  reduceThread,
  type ThreadEventsOptions,
  type ThreadlineClient,
  type ThreadView,
} from "@threadline/client";
import { useEffect, useRef, useState } from "react";

export interface UseThreadStreamOptions extends Omit<ThreadEventsOptions, "signal" | "onStateChange"> {
  client: ThreadlineClient;
  /**
   * Where the stream starts. Default `"snapshot"`: the latest run's state so far in one event, then live
   * (a run in progress renders at once, without replaying its tokens).
   */
  from?: ThreadEventsOptions["from"];
  /** False to stay disconnected (e.g. until a thread id is known). Default true. */
  enabled?: boolean;
  /** Called on each connection state change, besides updating `state`. */
  onStateChange?: (change: ConnectionStateChange) => void;
}

export interface ThreadStream {
  /** Every run of the thread reduced to a view model; `view.current` is the latest run. */
  view: ThreadView;
  /** `connecting | live | reconnecting | closed`. */
  state: ConnectionState;
  /** The latest state change in full: resumed, lastEventId, attempt, reason, delay, role. */
  connection: ConnectionStateChange | undefined;
  /** Set when the stream failed for good (401/403/400, or a failing getToken). */
  error: unknown;
}

/**
 * Streams a thread into a view model for rendering. It reconnects and resumes by itself, restarts when the
 * client, thread id, `from`, `heartbeatTimeoutMs` or `shareAcrossTabs` change, and disconnects on unmount.
 */
export function useThreadStream(threadId: string | undefined, options: UseThreadStreamOptions): ThreadStream {
  const { client, enabled = true, from = "snapshot", heartbeatTimeoutMs, shareAcrossTabs } = options;
  const latest = useRef(options);
  latest.current = options;
  const [view, setView] = useState<ThreadView>(createThreadView);
  const [connection, setConnection] = useState<ConnectionStateChange | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const sharing = Boolean(shareAcrossTabs);

  useEffect(() => {
    if (!enabled || !threadId) return;
    const controller = new AbortController();
    setView(createThreadView());
    setConnection(undefined);
    setError(undefined);
    const { backoff } = latest.current;
    const share = sharing ? latest.current.shareAcrossTabs : undefined;
    const stream = client.thread(threadId).events({
      from,
      ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
      ...(backoff === undefined ? {} : { backoff }),
      ...(share === undefined ? {} : { shareAcrossTabs: share }),
      signal: controller.signal,
      onStateChange: (change) => {
        if (controller.signal.aborted) return;
        setConnection(change);
        latest.current.onStateChange?.(change);
      },
    });
    (async () => {
      for await (const item of stream) {
        if (controller.signal.aborted) break;
        setView((current) => reduceThread(current, item));
      }
    })().catch((failure: unknown) => {
      if (!controller.signal.aborted) setError(failure);
    });
    return () => controller.abort();
    // `sharing` (not the shareAcrossTabs object, often created inline) restarts the stream.
  }, [client, threadId, enabled, from, heartbeatTimeoutMs, sharing]);

  return {
    view,
    state: connection?.state ?? (enabled && threadId ? "connecting" : "closed"),
    connection,
    error,
  };
}
