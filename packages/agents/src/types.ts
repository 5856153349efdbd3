import type { EventDraft } from "@threadline/protocol";
import type { Logger } from "pino";
import type { z } from "zod";
import type { ChatHistory } from "./ai-sdk/chat-history.js";

/** What an agent may emit. The worker adds `status running`/`retrying`, ids, seq and ts. */
export type AgentEvent = Exclude<EventDraft, { type: "error" }>;

export interface AgentContext {
  threadId: string;
  runId: string;
  /** 1 on the first try, 2 on the first retry, … */
  attempt: number;
  /** Aborted on cancel or worker shutdown: stop promptly, emit nothing more. */
  signal: AbortSignal;
  log: Logger;
  /**
   * The thread's earlier turns (oldest first, within the worker's memory budget): LLM agents send
   * them as model messages when the input brings none of its own; the demo agent refers to them.
   */
  history?: ChatHistory;
  /**
   * On a retried attempt: the latest step an earlier attempt completed (and checkpointed), with the state
   * it saved. The agent skips steps up to `step` — their tool calls are not run again, their tokens not
   * streamed again — and redoes the step that was in flight.
   */
  resume?: { step: number; state: unknown };
  /**
   * Records that step `step` completed, with what a retry needs to resume after it (JSON). Resolves once
   * the step's events and the checkpoint are published. Absent where runs cannot be resumed.
   */
  checkpoint?(step: number, state: unknown): Promise<void>;
}

/**
 * An agent turns a validated input into a stream of events. It ends with a `done` event or by
 * throwing (`AgentError` says whether a retry could help).
 */
export interface Agent<I = unknown> {
  name: string;
  description: string;
  /**
   * Set when the agent cannot run here (e.g. a provider key is missing): it is listed as unavailable
   * with this reason, and runs asking for it are refused at the API.
   */
  unavailableReason?: string;
  /** Validates input at the API (400 on failure) and again in the worker. */
  inputSchema: z.ZodType<I>;
  run(input: I, ctx: AgentContext): AsyncIterable<AgentEvent>;
}

/** A failure with an honest `retryable` flag, published as the run's `error` event. */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    /** Milliseconds the provider asked us to wait (retry-after), when it did. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "AgentError";
  }
}
