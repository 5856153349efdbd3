import type { ThreadlineClient } from "@threadline/client";
import { useThreads } from "@threadline/react";
import { formatMs } from "./format.js";
import { runStatus } from "./run-panel.js";

/** A board of one thread would repeat the main view over a second connection. */
const MIN_THREADS = 2;

export interface RunsBoardProps {
  client: ThreadlineClient;
  /** The threads on the board (every thread opened in this console), oldest first. */
  threads: readonly string[];
  /** The thread shown in full on the right. */
  current: string | undefined;
  enabled: boolean;
  onOpen(threadId: string): void;
  onRemove(threadId: string): void;
}

/**
 * The operator's view of many runs at once: every thread on the board over ONE gateway connection
 * (`useThreads`: a WebSocket, or one multiplexed SSE stream where the socket cannot pass), one card per
 * thread with its latest run's status, figures and last words. It shows
 * (and connects) from the second thread on: with one, the main view already streams it, and the tabs
 * showing it share that one gateway stream.
 */
export function RunsBoard({ client, threads, current, enabled, onOpen, onRemove }: RunsBoardProps) {
  const shown = threads.length >= MIN_THREADS;
  const { views, errors, state, connection } = useThreads(threads, {
    client,
    from: "start",
    enabled: enabled && shown,
  });
  if (!shown) return null;
  return (
    <section className="board" aria-labelledby="board-title">
      <h2 id="board-title">
        Runs board{" "}
        <span
          id="board-state"
          className={`badge badge-${state}`}
          data-transport={connection?.transport}
          title={`one ${connection?.transport === "sse" ? "SSE stream" : "WebSocket"} for every thread below`}
        >
          {state}
        </span>
        {connection?.state === "reconnecting" && connection.delayMs !== undefined ? (
          <span className="hint"> next try in {Math.round(connection.delayMs)} ms</span>
        ) : null}
      </h2>
      <ul className="board-cards">
        {threads.map((threadId) => {
          const run = views[threadId]?.current;
          const refused = errors[threadId];
          const status = (run && runStatus(run)) ?? "waiting";
          return (
            <li
              key={threadId}
              className="board-card"
              aria-current={threadId === current ? "true" : undefined}
            >
              <button type="button" className="board-card-open" onClick={() => onOpen(threadId)}>
                <strong>{threadId}</strong>
                <span className="card-status" data-thread={threadId}>
                  {refused ? refused.code : status}
                </span>
                <span className="hint">
                  {run ? `${run.eventCount} events · TTFT ${formatMs(run.ttftMs)}` : (refused?.message ?? "")}
                </span>
                <span className="board-card-text">{run?.text.slice(-120) ?? ""}</span>
              </button>
              <button
                type="button"
                className="secondary"
                aria-label={`Remove ${threadId} from the board`}
                onClick={() => onRemove(threadId)}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
