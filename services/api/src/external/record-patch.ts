import { type EventDraft, isFinalState, type RunView } from "@threadline/protocol";
import type { RunPatch } from "@threadline/redis";

const FINAL_BY_REASON = {
  stop: "completed",
  length: "completed",
  cancelled: "cancelled",
  error: "failed",
} as const;

/**
 * What an external run's record becomes after its producer published `events` (in order): the
 * same transitions our worker writes — running on its first event, the error it reported, and the
 * final state its `done` implies. A record already final is never changed.
 */
export function recordPatchFor(record: RunView, events: readonly EventDraft[], nowIso: string): RunPatch {
  const patch: RunPatch = {};
  let status = record.status;
  const start = () => {
    if (status !== "queued") return;
    status = "running";
    patch.status = "running";
    patch.startedAt = record.startedAt ?? nowIso;
    patch.attempts = Math.max(record.attempts, 1);
  };
  for (const event of events) {
    if (isFinalState(status)) break;
    if (event.type === "status") {
      if (event.content.state === "queued") continue;
      start();
      if (isFinalState(event.content.state)) continue; // the `done` that follows decides
      status = event.content.state;
      patch.status = status;
      if (event.content.attempt) patch.attempts = event.content.attempt;
    } else if (event.type === "error") {
      start();
      patch.error = {
        code: event.content.code,
        message: event.content.message,
        retryable: event.content.retryable,
      };
    } else if (event.type === "done") {
      start();
      status = FINAL_BY_REASON[event.content.finishReason];
      patch.status = status;
      patch.finishedAt = nowIso;
      if (event.content.output !== undefined) patch.output = event.content.output;
    } else {
      start();
    }
  }
  return patch;
}
