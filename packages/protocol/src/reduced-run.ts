import { z } from "zod";
import { AgentPath, DeltaContent, DoneContent, ErrorContent, RunState, Usage } from "./events.js";

/** One tool call of a run, keyed by `toolCallId`. */
export interface ToolCallState {
  toolCallId: string;
  name: string | undefined;
  /** Arguments as streamed so far (`argsDelta` pieces joined); JSON text. */
  argsText: string;
  /** The final arguments, once the agent sent them whole. */
  args: unknown;
  result: unknown;
  /** `streaming` while args arrive, `called` once args are final, then `done` or `error` with the result. */
  state: "streaming" | "called" | "done" | "error";
  /** Why the call failed: bad arguments, or the tool's own error. */
  error: string | undefined;
}

export interface StatusEntry {
  state: RunState;
  ts: number;
  attempt?: number;
  step?: number;
  total?: number;
  message?: string;
  /** On `retrying`: the attempt resumes after this many completed steps (checkpoints). */
  resumedFromStep?: number;
}

/** What an agent streamed: the run's root agent, or one sub-agent of a multi-agent run. */
export interface AgentStream {
  /** The model's text so far (restarted when the run is retried from the start). */
  text: string;
  /** The model's reasoning so far (`delta` kind `reasoning`), apart from `text`. */
  reasoning: string;
  toolCalls: ToolCallState[];
  /** Deltas of other kinds (files, message, …), in order; not tool calls, reasoning, progress or snapshots. */
  deltas: DeltaContent[];
  /** Cumulative tokens so far (`progress` deltas, then `done`). */
  usage: Usage | undefined;
  /** Cumulative cost so far, when the model has a price. */
  cost: { usd: number } | undefined;
}

/** A sub-agent of a multi-agent run: its path and its own stream. The tree is the paths' prefixes. */
export interface AgentView extends AgentStream {
  /** e.g. `["supervisor","researcher"]`; the parent is the path without its last name. */
  path: string[];
  /** The agent's latest own `status` (a sub-agent announces running/completed/failed). */
  status: RunState | undefined;
  error: ErrorContent | undefined;
}

/** The streams as they were at a run's latest checkpoint: a retry that resumes there goes back to them. */
export interface ResumePoint extends AgentStream {
  step: number;
  agents: AgentView[];
}

/** What a UI shows for one run, reduced from its events by `reduceRun` (the client's `RunView`). */
export interface ReducedRun extends AgentStream {
  runId: string | undefined;
  /** The latest status of the run (root agent); `undefined` until the first status event. */
  status: RunState | undefined;
  /** Sub-agents in order of their first event; events without `agent` are the root's (the fields above). */
  agents: AgentView[];
  timeline: StatusEntry[];
  done: DoneContent | undefined;
  /** The latest error event (a retryable one may be followed by `status retrying`). */
  error: ErrorContent | undefined;
  /** True after `done`, a final status (completed/failed/cancelled) or a non-retryable error. */
  finished: boolean;
  attempt: number;
  /** When the run started: given to createReducedRun, else the ts of its first event. */
  startedAt: number | undefined;
  firstTokenAt: number | undefined;
  /** Time to first token: first token ts − startedAt. */
  ttftMs: number | undefined;
  /** now − ts of the latest event (or snapshot), measured when it was reduced: a delivery figure, not state. */
  lastDeliveryLagMs: number | undefined;
  lastEventId: string | undefined;
  lastSeq: number | undefined;
  /** Events the per-run seq says never arrived (a gap the stream could not repair). */
  missedEvents: number;
  eventCount: number;
  /** The latest `checkpoint` delta's step and the streams at that point (see ResumePoint). */
  resumePoint: ResumePoint | undefined;
}

/** An empty stream: the root agent's fields, or a new sub-agent's. */
export function emptyAgentStream(): AgentStream {
  return { text: "", reasoning: "", toolCalls: [], deltas: [], usage: undefined, cost: undefined };
}

/** An empty run. `startedAt` (e.g. when you called runs.create) makes ttftMs what your user waited. */
export function createReducedRun(init: { runId?: string; startedAt?: number } = {}): ReducedRun {
  return {
    runId: init.runId,
    status: undefined,
    ...emptyAgentStream(),
    agents: [],
    timeline: [],
    done: undefined,
    error: undefined,
    finished: false,
    attempt: 1,
    startedAt: init.startedAt,
    firstTokenAt: undefined,
    ttftMs: undefined,
    lastDeliveryLagMs: undefined,
    lastEventId: undefined,
    lastSeq: undefined,
    missedEvents: 0,
    eventCount: 0,
    resumePoint: undefined,
  };
}

// The wire form of a reduced run (a `snapshot` delta's `run`), validated where it is received.
// Fields that are `undefined` in memory are absent in JSON, hence optional here.
/** `cost` on `done` and `progress`: USD, when the model has a price. */
export const Cost = z.object({ usd: z.number().min(0) });
const ToolCallStateSchema = z.object({
  toolCallId: z.string(),
  name: z.string().optional(),
  argsText: z.string(),
  // JSON leaves out what is undefined.
  args: z.unknown().optional(),
  result: z.unknown().optional(),
  state: z.enum(["streaming", "called", "done", "error"]),
  error: z.string().optional(),
});
const streamFields = {
  text: z.string(),
  reasoning: z.string(),
  toolCalls: z.array(ToolCallStateSchema),
  deltas: z.array(DeltaContent),
  usage: Usage.optional(),
  cost: Cost.optional(),
};
const StatusEntrySchema = z.object({
  state: RunState,
  ts: z.number(),
  attempt: z.number().optional(),
  step: z.number().optional(),
  total: z.number().optional(),
  message: z.string().optional(),
  resumedFromStep: z.number().optional(),
});
const AgentViewSchema = z.object({
  ...streamFields,
  path: AgentPath,
  status: RunState.optional(),
  error: ErrorContent.optional(),
});
export const ReducedRunSchema = z.object({
  ...streamFields,
  runId: z.string().optional(),
  status: RunState.optional(),
  agents: z.array(AgentViewSchema),
  timeline: z.array(StatusEntrySchema),
  done: DoneContent.optional(),
  error: ErrorContent.optional(),
  finished: z.boolean(),
  attempt: z.number().int().min(1),
  startedAt: z.number().optional(),
  firstTokenAt: z.number().optional(),
  ttftMs: z.number().optional(),
  lastDeliveryLagMs: z.number().optional(),
  lastEventId: z.string().optional(),
  lastSeq: z.number().int().optional(),
  missedEvents: z.number().int().min(0),
  eventCount: z.number().int().min(0),
  resumePoint: z
    .object({ ...streamFields, step: z.number().int().min(0), agents: z.array(AgentViewSchema) })
    .optional(),
});

/** A reduced run received over the wire, or undefined when it is not one. */
export function parseReducedRun(value: unknown): ReducedRun | undefined {
  const parsed = ReducedRunSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const run = parsed.data;
  // JSON drops undefined fields: put the in-memory shape back.
  const agentView = (agent: z.infer<typeof AgentViewSchema>): AgentView => ({
    ...emptyAgentStream(),
    status: undefined,
    error: undefined,
    ...agent,
    toolCalls: agent.toolCalls.map(toolCall),
  });
  const { resumePoint } = run;
  return {
    ...createReducedRun(),
    ...run,
    agents: run.agents.map(agentView),
    toolCalls: run.toolCalls.map(toolCall),
    resumePoint:
      resumePoint === undefined
        ? undefined
        : {
            ...emptyAgentStream(),
            ...resumePoint,
            agents: resumePoint.agents.map(agentView),
            toolCalls: resumePoint.toolCalls.map(toolCall),
          },
  };
}

function toolCall(call: z.infer<typeof ToolCallStateSchema>): ToolCallState {
  return { name: undefined, error: undefined, args: undefined, result: undefined, ...call };
}
