import type { StatusEntry } from "@threadline/client";
import type { DoneContent } from "@threadline/protocol";
import { formatMs } from "./format.js";

/** The run's statuses in order, each with its time since the first one, then how it ended. */
export function StatusTimeline({ entries, done }: { entries: StatusEntry[]; done: DoneContent | undefined }) {
  const first = entries[0]?.ts;
  return (
    <section aria-labelledby="timeline-title">
      <h3 id="timeline-title">Status timeline</h3>
      {entries.length === 0 ? <p className="hint">no status yet</p> : null}
      <ol id="timeline" className="timeline">
        {entries.map((entry) => (
          <li
            key={`${entry.state}-${entry.ts}-${entry.attempt ?? 0}-${entry.step ?? 0}`}
            className={`state-${entry.state}`}
          >
            <span className="state">{entry.state}</span>
            <span className="when">+{formatMs(first === undefined ? undefined : entry.ts - first)}</span>
            {entry.attempt !== undefined ? <span className="meta">attempt {entry.attempt}</span> : null}
            {entry.step !== undefined ? (
              <span className="meta">
                step {entry.step}
                {entry.total !== undefined ? `/${entry.total}` : ""}
              </span>
            ) : null}
            {entry.message ? <span className="meta">{entry.message}</span> : null}
          </li>
        ))}
        {done ? (
          <li className={done.finishReason === "stop" ? "state-completed" : "state-failed"}>
            <span className="state">done</span>
            <span className="meta">finish reason {done.finishReason}</span>
          </li>
        ) : null}
      </ol>
    </section>
  );
}
