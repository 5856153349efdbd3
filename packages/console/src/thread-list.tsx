import type { ThreadlineClient, ThreadList as ThreadPage } from "@threadline/client";
import { ERRORS } from "@threadline/protocol";
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "./format.js";

const PAGE_SIZE = 20;
const ARCHIVE_CATCH_UP_MS = 1_500;

export interface ThreadListProps {
  client: ThreadlineClient;
  enabled: boolean;
  current: string | undefined;
  /** Changes whenever the list may have changed (a run started or ended): the first page reloads. */
  refreshKey: string;
  onOpen: (threadId: string) => void;
}

/**
 * The caller's threads from the history API (`GET /v1/threads`, the archive): still there after Redis
 * forgot them. Newest activity first, a page at a time.
 */
export function ThreadList({ client, enabled, current, refreshKey, onOpen }: ThreadListProps) {
  const [threads, setThreads] = useState<ThreadPage["threads"]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [loaded, setLoaded] = useState(false);
  const [reloads, setReloads] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey and reloads only trigger a reload
  useEffect(() => {
    if (!enabled) return;
    let stale = false;
    const load = () =>
      client.threads.list({ limit: PAGE_SIZE }).then(
        (page) => {
          if (stale) return;
          setThreads(page.threads);
          setCursor(page.nextCursor);
          setError(undefined);
          setLoaded(true);
        },
        (failure: unknown) => {
          if (!stale) setError(failure);
        },
      );
    void load();
    // The list is the archive's, which copies a run within about one archiver pass: look again then.
    const again = setTimeout(load, ARCHIVE_CATCH_UP_MS);
    return () => {
      stale = true;
      clearTimeout(again);
    };
  }, [client, enabled, refreshKey, reloads]);

  const more = useCallback(async () => {
    if (!cursor) return;
    try {
      const page = await client.threads.list({ limit: PAGE_SIZE, cursor });
      setThreads((shown) => [
        ...shown,
        ...page.threads.filter((t) => !shown.some((s) => s.threadId === t.threadId)),
      ]);
      setCursor(page.nextCursor);
    } catch (failure) {
      setError(failure);
    }
  }, [client, cursor]);

  const disabled = (error as { code?: unknown } | undefined)?.code === ERRORS.ARCHIVE_DISABLED.code;
  return (
    <section className="card" aria-labelledby="threads-title">
      <div className="card-head">
        <h2 id="threads-title">Threads</h2>
        <button type="button" className="quiet" disabled={!enabled} onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {disabled ? (
        <p className="hint" id="threads-disabled">
          Thread history needs the archive (<code>DATABASE_URL</code>); open a thread by its id below.
        </p>
      ) : error ? (
        <p className="error" role="alert" id="threads-error">
          Could not list threads: {errorMessage(error)}
        </p>
      ) : null}
      {loaded && threads.length === 0 && !error ? <p className="hint">No threads yet.</p> : null}
      <ul id="thread-list" className="thread-list">
        {threads.map((thread) => (
          <li key={thread.threadId}>
            <button
              type="button"
              className="thread-item"
              aria-current={thread.threadId === current ? "true" : undefined}
              onClick={() => onOpen(thread.threadId)}
            >
              <span className="thread-preview">{thread.preview ?? "(no input)"}</span>
              <span className="thread-meta">
                <code className="thread-id">{thread.threadId}</code>
                <span className={`pill thread-status status-${thread.lastStatus ?? "none"}`}>
                  {thread.lastStatus ?? "–"}
                </span>
                <time dateTime={thread.updatedAt}>{new Date(thread.updatedAt).toLocaleString()}</time>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" className="quiet" onClick={more}>
          More threads
        </button>
      ) : null}
    </section>
  );
}
