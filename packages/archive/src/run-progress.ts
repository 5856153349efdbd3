import { DoneContent, ErrorContent, type RunStatus, StatusContent } from "@threadline/protocol";
import type { EventHeader } from "./event-header.js";

/** What a batch of log entries says about one run (the archiver merges it into the run's row). */
export interface RunProgress {
  runId: string;
  /** Ts of the run's first entry in the batch: the creation time when its record is gone. */
  firstTs: number;
  status?: RunStatus;
  attempts?: number;
  /** Set when the batch holds the run's `done`. */
  finishedAt?: number;
  output?: unknown;
  error?: { code: string; message: string; retryable: boolean };
  done: boolean;
}

const FINAL_STATUS: Record<DoneContent["finishReason"], RunStatus> = {
  stop: "completed",
  length: "completed",
  cancelled: "cancelled",
  error: "failed",
};

/**
 * Folds entries (in log order) into per-run progress. `done` decides the final status: the worker
 * updates the run record only after publishing `done`, so the record may still say `running` when
 * the archiver copies the entry.
 */
export function foldRunProgress(events: EventHeader[]): Map<string, RunProgress> {
  const runs = new Map<string, RunProgress>();
  for (const event of events) {
    if (!event.runId) continue;
    let run = runs.get(event.runId);
    if (!run) {
      run = { runId: event.runId, firstTs: event.ts, done: false };
      runs.set(event.runId, run);
    }
    if (event.type === "status") {
      const status = StatusContent.safeParse(event.content);
      if (status.success) {
        run.status = status.data.state;
        if (typeof status.data.attempt === "number") run.attempts = status.data.attempt;
      }
    } else if (event.type === "error") {
      const error = ErrorContent.safeParse(event.content);
      if (error.success) {
        const { code, message, retryable } = error.data;
        run.error = { code, message, retryable };
      }
    } else if (event.type === "done") {
      const done = DoneContent.safeParse(event.content);
      run.done = true;
      run.finishedAt = event.ts;
      run.status = done.success ? FINAL_STATUS[done.data.finishReason] : "completed";
      if (done.success && done.data.output !== undefined) run.output = done.data.output;
    }
  }
  return runs;
}
