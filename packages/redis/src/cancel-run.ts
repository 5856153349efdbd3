import { isFinalState, type RunView } from "@threadline/protocol";
import type { RedisClient } from "./connections.js";
import { sendControl } from "./control-channel.js";
import type { RunLifecycle } from "./run-lifecycle.js";
import type { RunRecords } from "./run-records.js";
import type { RunsQueue } from "./runs-queue.js";

export interface CancelRunDeps {
  redis: RedisClient;
  runs: Pick<RunRecords, "get">;
  queue: Pick<RunsQueue, "removeQueued">;
  lifecycle: Pick<RunLifecycle, "cancel">;
}

/** What a cancel found: `cancelled` (nobody held the job: ended here), `cancelling` (its worker aborts it). */
export type CancelRunResult =
  | { outcome: "cancelled" | "cancelling"; run: RunView }
  | { outcome: "not_found" }
  | { outcome: "finished"; run: RunView };

/**
 * Cancels a run — the one implementation behind the API's `POST …/cancel` and the gateway's WebSocket
 * `{type:"cancel"}` (the caller checks access first). A job no worker holds yet (waiting, or delayed
 * before a retry) is removed and its run ends here with `status cancelled` + `done cancelled`; a
 * running one is aborted by whichever worker holds it, told through the control channel.
 */
export async function cancelRun(
  deps: CancelRunDeps,
  ref: { threadId: string; runId: string; by: string },
): Promise<CancelRunResult> {
  const { threadId, runId } = ref;
  const run = await deps.runs.get(threadId, runId);
  if (!run) return { outcome: "not_found" };
  if (isFinalState(run.status)) return { outcome: "finished", run };

  const removed = await deps.queue.removeQueued(runId);
  if (removed === "finished" || removed === "missing") {
    // The job ended (or was cleaned up) between our read and the removal: report what the run became.
    const latest = (await deps.runs.get(threadId, runId)) ?? run;
    if (removed === "finished" || isFinalState(latest.status)) return { outcome: "finished", run: latest };
  }
  let outcome: "cancelled" | "cancelling";
  if (removed === "removed" || removed === "missing") {
    // Nobody holds the job, and nobody ever will: this request ends the run.
    // Keyed: two cancels racing here (or a retried request) end the run once.
    await deps.lifecycle.cancel({ threadId, runId });
    outcome = "cancelled";
  } else {
    // The record stays the worker's to write: setting `cancelling` here could overwrite a
    // `completed` the worker stores a moment later.
    outcome = "cancelling";
  }
  // Always tell the workers: one may have taken the job a moment ago.
  await sendControl(deps.redis, { type: "cancel", threadId, runId, reason: `cancelled by ${ref.by}` });
  return { outcome, run };
}
