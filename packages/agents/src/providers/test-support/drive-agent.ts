import pino, { type Logger } from "pino";
import type { Agent, AgentContext, AgentEvent } from "../../types.js";

export interface DriveResult {
  /** Every event but the `progress` deltas (usage reports), which are in `progress`. */
  events: AgentEvent[];
  /** The `progress` deltas: cumulative usage (and cost) after each model turn. */
  progress: AgentEvent[];
  /** What the run threw, if it did. */
  error?: unknown;
  /** The checkpoints the agent took, each state through JSON as Redis would keep it. */
  checkpoints: { step: number; state: unknown }[];
}

/**
 * Runs an agent to its end like the worker does, collecting every event, checkpoint and the error it
 * threw. `onEvent` sees each event as it arrives (e.g. to abort mid-stream); `stopAfterCheckpoint` ends
 * the run (with an error) right after that checkpoint, as a worker killed there would; `resume` starts a
 * retried attempt after one.
 */
export async function driveAgent<I>(
  agent: Agent<I>,
  input: unknown,
  options: {
    signal?: AbortSignal;
    attempt?: number;
    onEvent?: (event: AgentEvent, index: number) => void;
    resume?: { step: number; state: unknown };
    stopAfterCheckpoint?: number;
    log?: Logger;
  } = {},
): Promise<DriveResult> {
  const events: AgentEvent[] = [];
  const progress: AgentEvent[] = [];
  const checkpoints: DriveResult["checkpoints"] = [];
  const ctx: AgentContext = {
    threadId: "thread-1",
    runId: "run-1",
    attempt: options.attempt ?? 1,
    signal: options.signal ?? new AbortController().signal,
    log: options.log ?? pino({ level: "silent" }),
    ...(options.resume ? { resume: options.resume } : {}),
    checkpoint: async (step, state) => {
      checkpoints.push({ step, state: JSON.parse(JSON.stringify(state)) });
      // The worker dies here: nothing after this checkpoint happens (the run ends with an error).
      if (step === options.stopAfterCheckpoint) throw new Error(`stopped after checkpoint ${step}`);
    },
  };
  try {
    for await (const event of agent.run(agent.inputSchema.parse(input), ctx)) {
      if (event.type === "delta" && event.content.kind === "progress") {
        progress.push(event);
        continue;
      }
      events.push(event);
      options.onEvent?.(event, events.length - 1);
    }
    return { events, progress, checkpoints };
  } catch (error) {
    return { events, progress, checkpoints, error };
  }
}

/**
 * `driveAgent` without the events the AI SDK adapter adds around the provider's own stream (step
 * `status` events and the empty `tool_call` opening each tool input), for tests about one provider's
 * wire format; the adapter's full mapping is tested in ai-sdk/create-ai-sdk-agent.test.ts.
 */
export async function driveWireEvents<I>(
  agent: Agent<I>,
  input: unknown,
  options: Parameters<typeof driveAgent>[2] = {},
): Promise<DriveResult> {
  const outcome = await driveAgent(agent, input, options);
  return { ...outcome, events: outcome.events.filter((e) => !isAdapterFrame(e)) };
}

function isAdapterFrame(event: AgentEvent): boolean {
  if (event.type === "status") return true;
  if (event.type !== "delta" || event.content.kind !== "tool_call") return false;
  return !("argsDelta" in event.content || "args" in event.content || "error" in event.content);
}
