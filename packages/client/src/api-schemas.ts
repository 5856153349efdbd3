import { RunId, RunStatus, RunView, ThreadEvent, ThreadId } from "@threadline/protocol";
import { z } from "zod";

/** `POST /v1/threads/:threadId/runs` → 202. */
export const CreatedRun = z.looseObject({
  runId: RunId,
  threadId: ThreadId,
  status: z.literal("queued"),
  eventsUrl: z.string(),
});
export type CreatedRun = z.infer<typeof CreatedRun>;

/** `POST …/runs/:runId/cancel` → 202. */
export const CancelledRun = z.looseObject({ runId: RunId, threadId: ThreadId, status: RunStatus });
export type CancelledRun = z.infer<typeof CancelledRun>;

export const RunList = z.looseObject({ runs: z.array(RunView) });
export type RunList = z.infer<typeof RunList>;

/** `GET /v1/threads/:threadId/events?after&limit`: one page of the replay log. */
export const HistoryPage = z.looseObject({
  events: z.array(ThreadEvent),
  /** Pass as `after` for the next page. */
  nextAfter: z.string(),
  /** True when `after` is no longer retained: events between it and the first returned one are gone. */
  truncated: z.boolean(),
  more: z.boolean(),
});
export type HistoryPage = z.infer<typeof HistoryPage>;
