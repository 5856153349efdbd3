import type { DeltaContent, StatusEvent, ThreadEvent } from "@threadline/protocol";
import { isFinalState } from "@threadline/protocol";
import type { RunView, StatusEntry, ToolCallView } from "./run-view.js";

/**
 * Folds one event into a run's view. Pure and idempotent: an event whose per-run `seq` was already applied is
 * ignored, so replays after a resume never double the text. `now` is the clock for delivery lag.
 */
export function reduceRun(view: RunView, event: ThreadEvent, now: number = Date.now()): RunView {
  if (event.seq !== undefined && view.lastSeq !== undefined && event.seq <= view.lastSeq) return view;
  const missed = event.seq !== undefined && view.lastSeq !== undefined ? event.seq - view.lastSeq - 1 : 0;
  const next: RunView = {
    ...view,
    runId: view.runId ?? event.runId,
    startedAt: view.startedAt ?? event.ts,
    lastSeq: event.seq ?? view.lastSeq,
    lastEventId: event.id ?? view.lastEventId,
    lastDeliveryLagMs: Math.max(0, now - event.ts),
    missedEvents: view.missedEvents + missed,
    eventCount: view.eventCount + 1,
  };
  switch (event.type) {
    case "token":
      if (next.firstTokenAt === undefined) {
        next.firstTokenAt = event.ts;
        next.ttftMs = Math.max(0, event.ts - (next.startedAt ?? event.ts));
      }
      next.text += event.content;
      return next;
    case "status":
      return applyStatus(next, event);
    case "delta":
      return applyDelta(next, event.content);
    case "done":
      return { ...next, done: event.content, usage: event.content.usage ?? next.usage, finished: true };
    case "error":
      return { ...next, error: event.content, finished: next.finished || !event.content.retryable };
  }
}

function applyStatus(view: RunView, event: StatusEvent): RunView {
  const { state, attempt, step, total, message } = event.content;
  const entry: StatusEntry = { state, ts: event.ts };
  if (attempt !== undefined) entry.attempt = attempt;
  if (step !== undefined) entry.step = step;
  if (total !== undefined) entry.total = total;
  if (message !== undefined) entry.message = message;
  const next = { ...view, status: state, timeline: [...view.timeline, entry] };
  if (attempt !== undefined) next.attempt = attempt;
  if (isFinalState(state)) next.finished = true;
  // A retry runs the agent again from the start: what the failed attempt streamed is superseded.
  if (state === "retrying") return { ...next, text: "", reasoning: "", toolCalls: [], finished: false };
  return next;
}

function applyDelta(view: RunView, delta: DeltaContent): RunView {
  if ((delta.kind === "tool_call" || delta.kind === "tool_result") && typeof delta.toolCallId === "string") {
    return { ...view, toolCalls: upsertToolCall(view.toolCalls, delta.toolCallId, delta) };
  }
  if (delta.kind === "reasoning" && typeof delta.text === "string") {
    return { ...view, reasoning: view.reasoning + delta.text };
  }
  return { ...view, deltas: [...view.deltas, delta] };
}

function upsertToolCall(calls: ToolCallView[], toolCallId: string, delta: DeltaContent): ToolCallView[] {
  const index = calls.findIndex((c) => c.toolCallId === toolCallId);
  const current: ToolCallView = calls[index] ?? {
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
