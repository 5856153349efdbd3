import type { DeltaContent, DeltaEvent, StatusEvent, ThreadEvent } from "./events.js";
import { CHECKPOINT_KIND, isFinalState, Usage } from "./events.js";
import {
  type AgentStream,
  type AgentView,
  Cost,
  emptyAgentStream,
  parseReducedRun,
  type ReducedRun,
  type StatusEntry,
  type ToolCallState,
} from "./reduced-run.js";

/** `delta` kind `snapshot`: `{ kind: "snapshot", run?: ReducedRun }`, a run's state so far (`?snapshot=1`). */
export const SNAPSHOT_KIND = "snapshot";

/** The content of a snapshot delta: the run as reduced so far, or none when the stream has no run yet. */
export function snapshotContent(run: ReducedRun | undefined): DeltaContent {
  return run === undefined ? { kind: SNAPSHOT_KIND } : { kind: SNAPSHOT_KIND, run };
}

/**
 * Folds one event into a run's state: the one reducer behind the gateway's `?snapshot=1` and the clients'
 * views. Pure and idempotent: an event whose per-run `seq` was already applied is ignored, so replays after
 * a resume never double the text. A `snapshot` delta replaces the state (unless it is older than what is
 * there), so a snapshot followed by the events after it reduces to what the whole log reduces to.
 * `now` is the clock for delivery lag.
 */
export function reduceRun(view: ReducedRun, event: ThreadEvent, now: number = Date.now()): ReducedRun {
  if (event.type === "delta" && event.content.kind === SNAPSHOT_KIND) return applySnapshot(view, event, now);
  if (event.seq !== undefined && view.lastSeq !== undefined && event.seq <= view.lastSeq) return view;
  const missed = event.seq !== undefined && view.lastSeq !== undefined ? event.seq - view.lastSeq - 1 : 0;
  const next: ReducedRun = {
    ...view,
    runId: view.runId ?? event.runId,
    startedAt: view.startedAt ?? event.ts,
    lastSeq: event.seq ?? view.lastSeq,
    lastEventId: event.id ?? view.lastEventId,
    lastDeliveryLagMs: Math.max(0, now - event.ts),
    missedEvents: view.missedEvents + missed,
    eventCount: view.eventCount + 1,
  };
  if (event.type === "token" && next.firstTokenAt === undefined) {
    next.firstTokenAt = event.ts;
    next.ttftMs = Math.max(0, event.ts - (next.startedAt ?? event.ts));
  }
  if (event.agent !== undefined) return applyAgentEvent(next, event.agent, event);
  if (event.type === "delta" && event.content.kind === CHECKPOINT_KIND) return applyCheckpoint(next, event);
  switch (event.type) {
    case "token":
      return { ...next, text: next.text + event.content };
    case "status":
      return applyStatus(next, event);
    case "delta":
      return { ...next, ...applyDelta(next, event.content) };
    case "done": {
      const cost = Cost.safeParse(event.content.cost);
      return {
        ...next,
        done: event.content,
        usage: event.content.usage ?? next.usage,
        cost: cost.success ? cost.data : next.cost,
        finished: true,
      };
    }
    case "error":
      return { ...next, error: event.content, finished: next.finished || !event.content.retryable };
  }
}

function applyCheckpoint(view: ReducedRun, event: DeltaEvent): ReducedRun {
  const { step } = event.content;
  if (typeof step !== "number") return view;
  // References, not copies: the view is immutable, so this costs nothing.
  const { text, reasoning, toolCalls, deltas, usage, cost, agents } = view;
  return { ...view, resumePoint: { step, text, reasoning, toolCalls, deltas, usage, cost, agents } };
}

function applySnapshot(view: ReducedRun, event: DeltaEvent, now: number): ReducedRun {
  const run = parseReducedRun(event.content.run);
  if (run === undefined) return view;
  // What the view holds is newer (a late or repeated snapshot): keep it.
  if (run.lastSeq !== undefined && view.lastSeq !== undefined && run.lastSeq < view.lastSeq) return view;
  return {
    ...run,
    lastEventId: event.id ?? run.lastEventId,
    lastDeliveryLagMs: Math.max(0, now - event.ts),
  };
}

/** A sub-agent's event: it changes that agent's node of the tree, never the run's own fields. */
function applyAgentEvent(view: ReducedRun, path: string[], event: ThreadEvent): ReducedRun {
  const key = path.join("/");
  const index = view.agents.findIndex((a) => a.path.join("/") === key);
  const current: AgentView = view.agents[index] ?? {
    path: [...path],
    ...emptyAgentStream(),
    status: undefined,
    error: undefined,
  };
  let agent: AgentView;
  switch (event.type) {
    case "token":
      agent = { ...current, text: current.text + event.content };
      break;
    case "status":
      agent = { ...current, status: event.content.state };
      break;
    case "delta":
      agent = { ...current, ...applyDelta(current, event.content) };
      break;
    case "done":
      agent = { ...current, usage: event.content.usage ?? current.usage };
      break;
    case "error":
      agent = { ...current, error: event.content };
      break;
  }
  const agents =
    index === -1 ? [...view.agents, agent] : view.agents.map((a, i) => (i === index ? agent : a));
  return { ...view, agents };
}

function applyStatus(view: ReducedRun, event: StatusEvent): ReducedRun {
  const { state, attempt, step, total, message } = event.content;
  const entry: StatusEntry = { state, ts: event.ts };
  if (attempt !== undefined) entry.attempt = attempt;
  if (step !== undefined) entry.step = step;
  if (total !== undefined) entry.total = total;
  if (message !== undefined) entry.message = message;
  const resumedFromStep = event.content.resumedFromStep;
  if (typeof resumedFromStep === "number") entry.resumedFromStep = resumedFromStep;
  const next = { ...view, status: state, timeline: [...view.timeline, entry] };
  if (attempt !== undefined) next.attempt = attempt;
  if (isFinalState(state)) next.finished = true;
  if (state !== "retrying") return next;
  // A retry resumes after its latest checkpoint: what the failed attempt streamed after it (the step in
  // flight) is superseded and comes again. Without one (or another step), it starts over.
  const point = view.resumePoint;
  if (resumedFromStep !== undefined && resumedFromStep > 0 && point?.step === resumedFromStep) {
    const { step: _step, ...streams } = point;
    return { ...next, ...streams, finished: false };
  }
  return { ...next, ...emptyAgentStream(), agents: [], resumePoint: undefined, finished: false };
}

/** Folds a delta into one agent's stream (the root's or a sub-agent's). */
function applyDelta(stream: AgentStream, delta: DeltaContent): Partial<AgentStream> {
  if ((delta.kind === "tool_call" || delta.kind === "tool_result") && typeof delta.toolCallId === "string") {
    return { toolCalls: upsertToolCall(stream.toolCalls, delta.toolCallId, delta) };
  }
  if (delta.kind === "reasoning" && typeof delta.text === "string") {
    return { reasoning: stream.reasoning + delta.text };
  }
  const deltas = [...stream.deltas, delta];
  // Live usage: `progress` deltas carry the cumulative usage (and cost) so far.
  if (delta.kind === "progress") {
    const usage = Usage.safeParse(delta.usage);
    const cost = Cost.safeParse(delta.cost);
    if (usage.success) return { deltas, usage: usage.data, cost: cost.success ? cost.data : stream.cost };
  }
  return { deltas };
}

function upsertToolCall(calls: ToolCallState[], toolCallId: string, delta: DeltaContent): ToolCallState[] {
  const index = calls.findIndex((c) => c.toolCallId === toolCallId);
  const current: ToolCallState = calls[index] ?? {
    toolCallId,
    name: undefined,
    argsText: "",
    args: undefined,
    result: undefined,
    state: "streaming",
    error: undefined,
  };
  const next = { ...current };
  if (typeof delta.name === "string") next.name = delta.name;
  if (delta.kind === "tool_call") {
    if (typeof delta.argsDelta === "string") next.argsText += delta.argsDelta;
    if (delta.args !== undefined) {
      next.args = delta.args;
      next.argsText = JSON.stringify(delta.args);
      next.state = "called";
    }
    if (typeof delta.error === "string") {
      next.error = delta.error;
      next.state = "error";
    }
  } else {
    next.result = delta.result;
    next.state = delta.isError === true ? "error" : "done";
    if (delta.isError === true) next.error = errorText(delta.result);
  }
  return index === -1 ? [...calls, next] : calls.map((c, i) => (i === index ? next : c));
}

function errorText(result: unknown): string {
  if (result && typeof result === "object" && typeof (result as { error?: unknown }).error === "string") {
    return (result as { error: string }).error;
  }
  return typeof result === "string" ? result : "tool failed";
}
