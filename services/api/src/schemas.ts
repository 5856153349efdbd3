import { EventId, RunId, RunStatus, RunView, ThreadId } from "@threadline/protocol";
import { z } from "zod";

/** Route-level schemas: validated in handlers with zod and published in /openapi.json. */
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

export const EventsQuery = z.object({
  after: z
    .union([z.literal("0"), EventId], {
      error: 'must be "0" (everything retained) or a replay-log id like 1700000000000-0',
    })
    .optional()
    .transform((v) => v ?? "0"),
  limit: intParam(1, 1000, 100),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

export const ListRunsQuery = z.object({ limit: intParam(1, 200, 50) });
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const CreateRunResponse = z.object({
  runId: RunId,
  threadId: ThreadId,
  status: z.literal("queued"),
  /** Where to stream the thread's events (the gateway). */
  eventsUrl: z.string(),
});
export type CreateRunResponse = z.infer<typeof CreateRunResponse>;

/** 202 of `POST …/runs` with `runner: "external"`: where and with what the producer publishes. */
export const ExternalRunCreated = CreateRunResponse.extend({
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

export const CancelRunResponse = z.object({
  runId: RunId,
  threadId: ThreadId,
  status: RunStatus,
});
export type CancelRunResponse = z.infer<typeof CancelRunResponse>;

export const RunList = z.object({ runs: z.array(RunView) });
export type RunList = z.infer<typeof RunList>;

export const EventsPage = z.object({
  /** Events as published (each with its replay-log `id`), oldest first. */
  events: z.array(z.record(z.string(), z.unknown())),
  /** Pass as `after` to read the next page (the last id returned, or `after` when the page is empty). */
  nextAfter: z.string(),
  /** True when `after` is no longer in the log: events between it and the first returned one are gone. */
  truncated: z.boolean(),
  /** True when more events follow this page. */
  more: z.boolean(),
});
export type EventsPage = z.infer<typeof EventsPage>;
