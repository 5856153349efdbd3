import {
  createReducedRun,
  type ReducedRun as RunView,
  reduceRun,
  SNAPSHOT_KIND,
  type ThreadEvent,
} from "@threadline/protocol";
import type { GapItem, StreamItem } from "./types.js";

/** Every run seen on a thread, in order of first appearance, plus what is not part of a run. */
export interface ThreadView {
  runs: Record<string, RunView>;
  runIds: string[];
  /** The most recently started run (the one most UIs show). */
  current: RunView | undefined;
  /** Gaps the gateway reported (REPLAY_TRUNCATED): events before them may be missing. */
  gaps: GapItem[];
  /** Events without a runId (hand-published), the latest 100. */
  loose: ThreadEvent[];
  lastEventId: string | undefined;
}

export function createThreadView(): ThreadView {
  return { runs: {}, runIds: [], current: undefined, gaps: [], loose: [], lastEventId: undefined };
}

/** Folds one stream item into the thread's view; pure like reduceRun. */
export function reduceThread(view: ThreadView, item: StreamItem, now: number = Date.now()): ThreadView {
  if (item.kind === "gap") return { ...view, gaps: [...view.gaps, item] };
  const { event } = item;
  const lastEventId = event.id ?? view.lastEventId;
  if (event.runId === undefined) {
    // A snapshot of a thread with no run yet: only its position matters.
    if (event.type === "delta" && event.content.kind === SNAPSHOT_KIND) return { ...view, lastEventId };
    return { ...view, lastEventId, loose: [...view.loose, event].slice(-100) };
  }
  const before = view.runs[event.runId];
  const after = reduceRun(before ?? createReducedRun({ runId: event.runId }), event, now);
  if (after === before) return view;
  const runIds = before ? view.runIds : [...view.runIds, event.runId];
  const currentId = runIds[runIds.length - 1];
  const runs = { ...view.runs, [event.runId]: after };
  return { ...view, runs, runIds, current: currentId ? runs[currentId] : undefined, lastEventId };
}
