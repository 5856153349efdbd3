import pino from "pino";
import type { Agent, AgentEvent } from "../../types.js";

export interface DriveResult {
  /** Every event but the `progress` deltas (usage reports), which are in `progress`. */
  events: AgentEvent[];
  /** The `progress` deltas: cumulative usage (and cost) after each model turn. */
  progress: AgentEvent[];
  /** What the run threw, if it did. */
  error?: unknown;
}

/**
 * Runs an agent to its end like the worker does, collecting every event and the error it threw.
 * `onEvent` sees each event as it arrives (e.g. to abort mid-stream).
 */
export async function driveAgent<I>(
  agent: Agent<I>,
  input: unknown,
  options: {
    signal?: AbortSignal;
    attempt?: number;
    onEvent?: (event: AgentEvent, index: number) => void;
  } = {},
): Promise<DriveResult> {
  const events: AgentEvent[] = [];
  const progress: AgentEvent[] = [];
  const ctx = {
    threadId: "thread-1",
    runId: "run-1",
    attempt: options.attempt ?? 1,
    signal: options.signal ?? new AbortController().signal,
    log: pino({ level: "silent" }),
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
    return { events, progress };
  } catch (error) {
    return { events, progress, error };
  }
}

/**
 * `driveAgent` without the events the AI SDK adapter adds around the provider's own stream (step
 * `status` events and the empty `tool_call` opening each tool input), for tests about one provider's
 * wire format; the adapter's full mapping is tested in ai-sdk/map-full-stream.int.test.ts.
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
