import type { ToolCallView } from "@threadline/client";
import { formatJson } from "./format.js";

/** Each tool call with its arguments (as streamed, then final) and its result or error. */
export function ToolCalls({ calls }: { calls: ToolCallView[] }) {
  return (
    <section aria-labelledby="tools-title">
      <h3 id="tools-title">Tool calls</h3>
      {calls.length === 0 ? <p className="hint">none yet</p> : null}
      <ol id="tool-calls" className="tool-calls">
        {calls.map((call) => (
          <li key={call.toolCallId} className={`tool tool-${call.state}`}>
            <div className="tool-head">
              <code className="tool-name">{call.name ?? call.toolCallId}</code>
              <span className={`pill pill-${call.state}`}>{call.state}</span>
            </div>
            <div className="tool-body">
              <span className="label">arguments</span>
              <pre className="json tool-args">
                {call.args !== undefined ? formatJson(call.args) : call.argsText}
              </pre>
              {call.state === "done" ? (
                <>
                  <span className="label">result</span>
                  <pre className="json tool-result">{formatJson(call.result)}</pre>
                </>
              ) : null}
              {call.error ? <p className="error">{call.error}</p> : null}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
