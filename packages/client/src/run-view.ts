import type { DeltaContent, DoneContent, ErrorContent, RunState, Usage } from "@threadline/protocol";

/** One tool call of a run, keyed by `toolCallId`. */
export interface ToolCallView {
  toolCallId: string;
  name: string | undefined;
  /** Arguments as streamed so far (`argsDelta` pieces joined); JSON text. */
  argsText: string;
  /** The final arguments, once the agent sent them whole. */
  args: unknown;
  result: unknown;
  /** `streaming` while args arrive, `called` once args are final, then `done` or `error` with the result. */
  state: "streaming" | "called" | "done" | "error";
  /** Why the call failed: bad arguments, or the tool's own error. */
  error: string | undefined;
}

export interface StatusEntry {
  state: RunState;
  ts: number;
  attempt?: number;
  step?: number;
  total?: number;
  message?: string;
}

/** What a UI shows for one run, reduced from its events by `reduceRun`. */
export interface RunView {
  runId: string | undefined;
  /** The latest status; `undefined` until the first status event. */
  status: RunState | undefined;
  /** The model's text so far (restarted when the run is retried). */
  text: string;
  /** The model's reasoning so far (`delta` kind `reasoning`), apart from `text`; restarted on retry. */
  reasoning: string;
  toolCalls: ToolCallView[];
  timeline: StatusEntry[];
  /** Deltas of other kinds (progress, files, message, …), in order; not tool calls or reasoning. */
  deltas: DeltaContent[];
  done: DoneContent | undefined;
  /** The latest error event (a retryable one may be followed by `status retrying`). */
  error: ErrorContent | undefined;
  /** True after `done`, a final status (completed/failed/cancelled) or a non-retryable error. */
  finished: boolean;
  usage: Usage | undefined;
  attempt: number;
  /** When the run started: given to createRunView, else the ts of its first event. */
  startedAt: number | undefined;
  firstTokenAt: number | undefined;
  /** Time to first token: first token ts − startedAt. */
  ttftMs: number | undefined;
  /** now − ts of the latest event, measured when it was reduced. */
  lastDeliveryLagMs: number | undefined;
  lastEventId: string | undefined;
  lastSeq: number | undefined;
  /** Events the per-run seq says never arrived (a gap the stream could not repair). */
  missedEvents: number;
  eventCount: number;
}

/** An empty view. `startedAt` (e.g. when you called runs.create) makes ttftMs what your user waited. */
export function createRunView(init: { runId?: string; startedAt?: number } = {}): RunView {
  return {
    runId: init.runId,
    status: undefined,
    text: "",
    reasoning: "",
    toolCalls: [],
    timeline: [],
    deltas: [],
    done: undefined,
    error: undefined,
    finished: false,
    usage: undefined,
    attempt: 1,
    startedAt: init.startedAt,
    firstTokenAt: undefined,
    ttftMs: undefined,
    lastDeliveryLagMs: undefined,
    lastEventId: undefined,
    lastSeq: undefined,
    missedEvents: 0,
    eventCount: 0,
  };
}
