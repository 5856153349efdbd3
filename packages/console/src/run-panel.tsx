import type { RunView } from "@threadline/client";
import { isFinalState } from "@threadline/protocol";
import { AgentTree } from "./agent-tree.js";
import { formatJson, formatMs } from "./format.js";
import { StatusTimeline } from "./status-timeline.js";
import { ToolCalls } from "./tool-calls.js";

export interface RunPanelProps {
  run: RunView;
  /** Asks the API to cancel the run; absent when the console cannot (no token). */
  onCancel?: (runId: string) => void;
  cancelError?: string | undefined;
}

/** One run: its figures, its folded reasoning, the streamed answer, its tool calls and its status timeline. */
export function RunPanel({ run, onCancel, cancelError }: RunPanelProps) {
  const { runId } = run;
  const outcome = run.done ? run.done.finishReason : run.error ? run.error.code : undefined;
  const status = runStatus(run);
  return (
    <article className="run" aria-label={`Run ${run.runId ?? ""}`}>
      <dl className="figures">
        <Figure label="Status" value={status ?? "–"} id="run-status" />
        <Figure
          label="TTFT"
          value={formatMs(run.ttftMs)}
          id="run-ttft"
          title="first token − first event of the run"
        />
        <Figure
          label="Delivery lag"
          value={formatMs(run.lastDeliveryLagMs)}
          id="run-lag"
          title="when the latest event arrived here − when it was published"
        />
        <Figure label="Events" value={String(run.eventCount)} id="run-events" />
        <Figure label="Attempt" value={String(run.attempt)} id="run-attempt" />
        <Figure label="Finish reason" value={outcome ?? (run.finished ? "yes" : "–")} id="run-finished" />
        <Figure
          label="Tokens"
          value={
            run.usage ? `${run.usage.inputTokens ?? "–"} in / ${run.usage.outputTokens ?? "–"} out` : "–"
          }
          id="run-usage"
          title="cumulative input / output tokens, live from progress events"
        />
        <Figure label="Cost" value={run.cost ? `$${run.cost.usd.toFixed(6)}` : "–"} id="run-cost" />
      </dl>
      {onCancel && runId && !run.finished ? (
        <button type="button" className="secondary" onClick={() => onCancel(runId)}>
          Cancel run
        </button>
      ) : null}
      {cancelError ? (
        <p className="error" role="alert">
          Could not cancel: {cancelError}
        </p>
      ) : null}
      {run.error ? (
        <p className="error" role="alert">
          {run.error.code}: {run.error.message}
          {run.error.retryable ? " (retryable)" : ""}
        </p>
      ) : null}
      {run.missedEvents > 0 ? (
        <p className="error" role="alert">
          {run.missedEvents} event(s) of this run never arrived.
        </p>
      ) : null}
      {run.reasoning ? (
        // Folded: reasoning can be long and is not the answer; it sits above it, as the model wrote it first.
        <details id="reasoning" className="reasoning">
          <summary>Reasoning ({run.reasoning.length} characters)</summary>
          <pre id="reasoning-text" className="answer">
            {run.reasoning}
          </pre>
        </details>
      ) : null}
      <section aria-labelledby="answer-title">
        <h3 id="answer-title">Answer</h3>
        <pre id="answer" className="answer" aria-live="polite" aria-busy={!run.finished}>
          <span id="answer-text">{run.text}</span>
          {run.text ? null : (
            <span className="placeholder">{run.finished ? "(no text)" : "waiting for the first token…"}</span>
          )}
          {run.finished ? null : <span className="cursor" aria-hidden="true" />}
        </pre>
      </section>
      <AgentTree agents={run.agents} />
      <div className="columns">
        <ToolCalls calls={run.toolCalls} />
        <StatusTimeline entries={run.timeline} done={run.done} />
      </div>
      {run.done?.output !== undefined ? (
        <details>
          <summary>Output</summary>
          <pre className="json">{formatJson(run.done.output)}</pre>
        </details>
      ) : null}
    </article>
  );
}

/** The run's status; a run that ended with `done` but no final status event still reads as ended. */
export function runStatus(run: RunView): string | undefined {
  return run.done && !isFinalState(run.status) ? DONE_STATUS[run.done.finishReason] : run.status;
}

const DONE_STATUS: Record<string, string> = {
  stop: "completed",
  length: "completed",
  cancelled: "cancelled",
  error: "failed",
};

function Figure({ label, value, id, title }: { label: string; value: string; id: string; title?: string }) {
  return (
    <div className="figure" title={title}>
      <dt>{label}</dt>
      <dd id={id}>{value}</dd>
    </div>
  );
}
