import { z } from "zod";
import { RunState } from "./events.js";
import { RunId, ThreadId } from "./ids.js";
import { boundedJsonObject } from "./json-depth.js";

/** `onDisconnect`: cancel the run when no SSE client has watched its thread for this long. */
export const OnDisconnect = z.object({ cancelAfterMs: z.number().int().min(1_000).max(86_400_000) });
export type OnDisconnect = z.infer<typeof OnDisconnect>;

/**
 * `budget`: limits of one run, checked by the worker against the usage the agent reports (`progress`
 * deltas and `done`) and the tokens it streams. Crossing one stops the run: `error BUDGET_EXCEEDED`,
 * then `done { finishReason: "length" }`.
 */
export const RunBudget = z.strictObject({
  maxOutputTokens: z.number().int().min(1).max(10_000_000).optional(),
  maxCostUsd: z.number().positive().max(1_000_000).optional(),
});
export type RunBudget = z.infer<typeof RunBudget>;

/** Cumulative token counts of a run (the `done` event's `usage`, also on the run record). */
const RunUsage = z.looseObject({
  inputTokens: z.number().int().min(0).optional(),
  outputTokens: z.number().int().min(0).optional(),
});

/**
 * Who runs a run: `agent` (default) queues it for our workers; `external` means the caller's own
 * process publishes its events (HTTP publish or the publish script) and owns its lifecycle.
 */
export const RUNNERS = ["agent", "external"] as const;
export const Runner = z.enum(RUNNERS);
export type Runner = z.infer<typeof Runner>;

/** Body of `POST /v1/threads/:threadId/runs`; `input` is required unless `runner` is `external`. */
export const RunRequest = z
  .object({
    runner: Runner.optional(),
    agent: z.string().min(1).max(64).optional(),
    input: boundedJsonObject().optional(),
    metadata: boundedJsonObject().optional(),
    onDisconnect: OnDisconnect.optional(),
    budget: RunBudget.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.runner === "external") {
      if (body.budget !== undefined)
        ctx.addIssue({ code: "custom", path: ["budget"], message: "not supported for external runs" });
      if (body.agent !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["agent"],
          message: "an external run has no agent: leave it out",
        });
      if (body.onDisconnect !== undefined)
        ctx.addIssue({ code: "custom", path: ["onDisconnect"], message: "not supported for external runs" });
    } else if (body.input === undefined) {
      ctx.addIssue({ code: "custom", path: ["input"], message: "is required (an object)" });
    }
  });
export type RunRequest = z.infer<typeof RunRequest>;

/** A run's status is the state its latest `status` event announced. */
export const RunStatus = RunState;
export type RunStatus = z.infer<typeof RunStatus>;

/** `GET /v1/threads/:threadId/runs/:runId`. Timestamps are ISO 8601. */
export const RunView = z.object({
  runId: RunId,
  threadId: ThreadId,
  agent: z.string(),
  /** `external` when the caller's own process publishes the run's events. */
  runner: Runner.optional(),
  status: RunStatus,
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  attempts: z.number().int().min(0),
  output: z.unknown().optional(),
  /** Tokens used, from the run's `done`. */
  usage: RunUsage.optional(),
  /** What the run cost, when its model has a price (MODEL_PRICES). */
  cost: z.object({ usd: z.number().min(0) }).optional(),
  /** The run's limits as requested. */
  budget: RunBudget.optional(),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** The run's input as it was requested (thread history and agent memory read it). */
  input: z.record(z.string(), z.unknown()).optional(),
  /** Set once the archive holds the whole run (its `done` included). */
  archivedAt: z.string().optional(),
});
export type RunView = z.infer<typeof RunView>;

/** The BullMQ job data of a run on the `runs` queue (validated again by the worker). */
export const RunJobData = z.object({
  runId: RunId,
  threadId: ThreadId,
  agent: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  owner: z.string(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  onDisconnect: OnDisconnect.optional(),
  budget: RunBudget.optional(),
});
export type RunJobData = z.infer<typeof RunJobData>;

/** Messages on the control channel (`threadline:control`), read by every worker. */
export const ControlMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("cancel"),
    threadId: ThreadId,
    runId: RunId,
    reason: z.string().max(200).optional(),
  }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;
