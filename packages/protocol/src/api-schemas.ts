import { z } from "zod";
import { ThreadEvent } from "./events.js";
import { EventId, RunId, ThreadId } from "./ids.js";
import { RunStatus, RunView } from "./runs.js";

/**
 * The API's HTTP requests and responses (besides `RunRequest` and `RunView` in runs.ts): the API
 * validates with them and publishes them in /openapi.json; the SDK parses responses with them.
 */

export const ThreadParams = z.object({ threadId: ThreadId });
export type ThreadParams = z.infer<typeof ThreadParams>;

export const RunParams = z.object({ threadId: ThreadId, runId: RunId });
export type RunParams = z.infer<typeof RunParams>;

const intParam = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((v) => v ?? fallback);

/** `GET /v1/threads/:threadId/events?after&limit` (API, JSON page). */
export const EventsQuery = z.object({
  after: z
    .union([z.literal("0"), EventId], {
      error:
        'must be "0" (everything retained) or a replay-log id like 1700000000000-0 (at most 64 bits each)',
    })
    .optional()
    .transform((v) => v ?? "0"),
  limit: intParam(1, 1000, 100),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

/** `GET /v1/threads/:threadId/runs?limit`. */
export const ListRunsQuery = z.object({ limit: intParam(1, 200, 50) });
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

/**
 * `POST /v1/threads/:threadId/runs?wait=<seconds>` (0-60, default 0): wait up to that long for the run to
 * end, then answer with the run (`RunView`): 200 when it finished, 202 when it is still going.
 */
export const CreateRunQuery = z.object({ wait: intParam(0, 60, 0) });
export type CreateRunQuery = z.infer<typeof CreateRunQuery>;

/** `POST /v1/threads/:threadId/runs` → 202. */
export const CreatedRun = z.object({
  runId: RunId,
  threadId: ThreadId,
  status: z.literal("queued"),
  /** Where to stream the thread's events (the gateway). */
  eventsUrl: z.string(),
});
export type CreatedRun = z.infer<typeof CreatedRun>;

/** 202 of `POST …/runs` with `runner: "external"`: where and with what the producer publishes. */
export const ExternalRunCreated = CreatedRun.extend({
  /** `POST` the run's events here (path on this API). */
  publishUrl: z.string(),
  /**
   * A JWT (HS256, the API's JWT_SECRET) scoped to this one run: `sub` = `run:<runId>`, `tl_publish` =
   * `{ threadId, runId }`, `exp` = now + PUBLISH_TOKEN_TTL_SECONDS (`aud`/`iss` when configured). It
   * publishes this run's events and nothing else.
   */
  publishToken: z.string(),
  /** ISO 8601: when `publishToken` expires. */
  publishTokenExpiresAt: z.string(),
});
export type ExternalRunCreated = z.infer<typeof ExternalRunCreated>;

/** The 202 of `POST …/runs` as documented: the publish fields come with external runs only. */
export const CreateRunAnswer = ExternalRunCreated.partial({
  publishUrl: true,
  publishToken: true,
  publishTokenExpiresAt: true,
});
export type CreateRunAnswer = z.infer<typeof CreateRunAnswer>;

/** `POST …/runs/:runId/cancel` → 202: `cancelled` (it was queued) or `cancelling` (a worker aborts it). */
export const CancelledRun = z.object({ runId: RunId, threadId: ThreadId, status: RunStatus });
export type CancelledRun = z.infer<typeof CancelledRun>;

/** `GET /v1/threads/:threadId/runs` → the thread's runs, newest first. */
export const RunList = z.object({ runs: z.array(RunView) });
export type RunList = z.infer<typeof RunList>;

/** `GET /v1/threads/:threadId/events?after&limit` → one page of the replay log. */
export const HistoryPage = z.object({
  /** Events as published (each with its replay-log `id`), oldest first. */
  events: z.array(ThreadEvent),
  /** Pass as `after` to read the next page (the last id returned, or `after` when the page is empty). */
  nextAfter: z.string(),
  /** True when `after` is no longer in the log: events between it and the first returned one are gone. */
  truncated: z.boolean(),
  /** True when more events follow this page. */
  more: z.boolean(),
});
export type HistoryPage = z.infer<typeof HistoryPage>;

export const ListThreadsQuery = z.object({
  limit: intParam(1, 100, 20),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(400).optional(),
});
export type ListThreadsQuery = z.infer<typeof ListThreadsQuery>;

export const ThreadSummaryView = z.object({
  threadId: ThreadId,
  lastRunId: RunId.nullable(),
  lastStatus: RunStatus.nullable(),
  updatedAt: z.string(),
  /** The last run's prompt (or input as JSON), cut short. */
  preview: z.string().nullable(),
});
export const ThreadList = z.object({
  threads: z.array(ThreadSummaryView),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type ThreadList = z.infer<typeof ThreadList>;

export const ToolCallView = z.object({
  toolCallId: z.string().optional(),
  name: z.string(),
  args: z.unknown().optional(),
  result: z.unknown().optional(),
  isError: z.boolean().optional(),
});
export const ThreadMessages = z.object({
  messages: z.array(
    z.object({
      runId: RunId,
      role: z.enum(["user", "assistant"]),
      content: z.string(),
      toolCalls: z.array(ToolCallView).optional(),
    }),
  ),
});
export type ThreadMessages = z.infer<typeof ThreadMessages>;

/** The opaque `cursor` of GET /v1/threads: the last thread's (updatedAt, threadId). */
export const ThreadCursor = z.object({ updatedAt: z.iso.datetime(), threadId: ThreadId });
export type ThreadCursor = z.infer<typeof ThreadCursor>;
