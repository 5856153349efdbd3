import {
  createReducedRun,
  type DeltaEvent,
  type ReducedRun,
  reduceRun,
  snapshotContent,
  type ThreadEvent,
} from "@threadline/protocol";
import { inScope, type StreamFilter } from "./stream-filter.js";

export interface SnapshotFold {
  /** One replayed event, in log order. */
  add(event: ThreadEvent): void;
  /**
   * The `snapshot` delta: the followed run (`runId`, else the thread's latest) reduced so far, its `id`
   * the last log entry folded, so Last-Event-ID resumes right after what the snapshot holds.
   */
  event(threadId: string, ts: number): DeltaEvent;
}

/**
 * `?snapshot=1`: folds the replayed log with the protocol's run reducer (the one clients use), so a
 * late joiner receives one `delta` of kind `snapshot` instead of thousands of tokens. Only events in
 * the stream's scope (`runId`, `agent`) are folded; `types` does not narrow what a snapshot holds.
 */
export function createSnapshotFold(filter: StreamFilter | undefined, now: () => number): SnapshotFold {
  const runs = new Map<string, ReducedRun>();
  let latest: string | undefined;
  let position: string | undefined;
  return {
    add(event) {
      if (event.id !== undefined) position = event.id;
      if (event.runId === undefined) return;
      if (filter && !inScope({ runId: filter.runId, agent: filter.agent }, event)) return;
      const before = runs.get(event.runId);
      if (before === undefined) latest = event.runId;
      runs.set(event.runId, reduceRun(before ?? createReducedRun({ runId: event.runId }), event, now()));
    },
    event(threadId, ts) {
      const run = latest === undefined ? undefined : runs.get(latest);
      return {
        type: "delta",
        threadId,
        ...(run?.runId === undefined ? {} : { runId: run.runId }),
        ts,
        ...(position === undefined ? {} : { id: position }),
        content: snapshotContent(run),
      };
    },
  };
}
