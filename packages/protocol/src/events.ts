import { z } from "zod";
import { EventId, RunId, ThreadId } from "./ids.js";

export const EVENT_TYPES = ["token", "status", "delta", "done", "error"] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const RUN_STATES = [
  "queued",
  "running",
  "retrying",
  "cancelling",
  "cancelled",
  "completed",
  "failed",
] as const;
export const RunState = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunState>;

/** States a run does not leave: completed, failed, cancelled. */
export function isFinalState(state: string | undefined): boolean {
  return state === "completed" || state === "failed" || state === "cancelled";
}

export const TokenContent = z.string();
export type TokenContent = z.infer<typeof TokenContent>;

export const StatusContent = z.looseObject({
  state: RunState,
  attempt: z.number().int().min(1).optional(),
  step: z.number().int().min(0).optional(),
  total: z.number().int().min(0).optional(),
  message: z.string().optional(),
  /** On `retrying`: the attempt resumes after this many completed steps (their checkpoints). */
  resumedFromStep: z.number().int().min(0).optional(),
});
export type StatusContent = z.infer<typeof StatusContent>;

/** Structured, incremental state: tool calls, tool results, messages, progress, file edits, … */
export const DeltaContent = z.looseObject({ kind: z.string().min(1) });
export type DeltaContent = z.infer<typeof DeltaContent>;

/**
 * `delta` kind `reasoning`: a piece of the model's reasoning (Anthropic thinking, OpenAI reasoning
 * summaries, the AI SDK's reasoning parts), streamed as it comes and kept apart from the answer text.
 * Pieces with the same `id` belong to one reasoning block; concatenated in `seq` order they are the block.
 */
export const ReasoningDelta = z.looseObject({
  kind: z.literal("reasoning"),
  text: z.string(),
  id: z.string().optional(),
});
export type ReasoningDelta = z.infer<typeof ReasoningDelta>;

/**
 * `delta` kind `checkpoint`: published by the worker when the agent completed step `step` (after that
 * step's events); `state` is what the agent needs to resume after it, in the agent's own shape (the
 * agent validates it). A retried attempt resumes after the run's latest one (`status retrying
 * {resumedFromStep}`).
 */
export const CHECKPOINT_KIND = "checkpoint";
export const CheckpointDelta = z.looseObject({
  kind: z.literal(CHECKPOINT_KIND),
  step: z.number().int().min(1),
  state: z.unknown(),
});
export type CheckpointDelta = z.infer<typeof CheckpointDelta>;

export const FINISH_REASONS = ["stop", "cancelled", "length", "error"] as const;
export const FinishReason = z.enum(FINISH_REASONS);
export type FinishReason = z.infer<typeof FinishReason>;

export const Usage = z.looseObject({
  inputTokens: z.number().int().min(0).optional(),
  outputTokens: z.number().int().min(0).optional(),
});
export type Usage = z.infer<typeof Usage>;

export const DoneContent = z.looseObject({
  finishReason: FinishReason,
  usage: Usage.optional(),
  output: z.unknown().optional(),
});
export type DoneContent = z.infer<typeof DoneContent>;

export const ErrorContent = z.looseObject({
  code: z.string().min(1),
  message: z.string(),
  retryable: z.boolean(),
});
export type ErrorContent = z.infer<typeof ErrorContent>;

/** An agent's name within a run: one segment of an `agent` path (no `/`, which joins a path in URLs). */
export const AgentName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^/]+$/, "an agent name has no '/'");

/**
 * `agent`: the path of the agent that produced an event in a multi-agent run, e.g.
 * `["supervisor","researcher"]`; absent = the run's root agent.
 */
export const AgentPath = z.array(AgentName).min(1).max(32);
export type AgentPath = z.infer<typeof AgentPath>;

/** Fields every event carries besides `type` and `content`. */
export const Envelope = z.object({
  threadId: ThreadId,
  runId: RunId.optional(),
  agent: AgentPath.optional(),
  seq: z.number().int().min(1).optional(),
  ts: z.number().int().min(0),
  id: EventId.optional(),
});
export type Envelope = z.infer<typeof Envelope>;

export const TokenEvent = Envelope.extend({ type: z.literal("token"), content: TokenContent });
export const StatusEvent = Envelope.extend({ type: z.literal("status"), content: StatusContent });
export const DeltaEvent = Envelope.extend({ type: z.literal("delta"), content: DeltaContent });
export const DoneEvent = Envelope.extend({ type: z.literal("done"), content: DoneContent });
export const ErrorEvent = Envelope.extend({ type: z.literal("error"), content: ErrorContent });
export type TokenEvent = z.infer<typeof TokenEvent>;
export type StatusEvent = z.infer<typeof StatusEvent>;
export type DeltaEvent = z.infer<typeof DeltaEvent>;
export type DoneEvent = z.infer<typeof DoneEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;

/** One event on `thread:<id>` and in its replay log. */
export const ThreadEvent = z.discriminatedUnion("type", [
  TokenEvent,
  StatusEvent,
  DeltaEvent,
  DoneEvent,
  ErrorEvent,
]);
export type ThreadEvent = z.infer<typeof ThreadEvent>;

/** What an agent or worker hands to the publisher: the script adds `id`, `seq` and `ts`. */
export type EventDraft = (
  | { type: "token"; content: TokenContent }
  | { type: "status"; content: StatusContent }
  | { type: "delta"; content: DeltaContent }
  | { type: "done"; content: DoneContent }
  | { type: "error"; content: ErrorContent }
) & { agent?: AgentPath };

export const CONTENT_SCHEMAS = {
  token: TokenContent,
  status: StatusContent,
  delta: DeltaContent,
  done: DoneContent,
  error: ErrorContent,
} as const;

/** Terminal events end a run (and `?until=done` streams). */
export function isTerminal(event: { type: EventType }): boolean {
  return event.type === "done" || event.type === "error";
}
