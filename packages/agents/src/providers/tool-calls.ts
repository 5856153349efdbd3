import { ToolError } from "../tools/tool.js";
import type { ToolRegistry } from "../tools/tool-registry.js";
import type { AgentEvent } from "../types.js";

/** A complete tool call from the model: parsed arguments, or why they could not be parsed. */
export interface ToolCall {
  id: string;
  name: string;
  args: unknown;
  /** Set when the streamed arguments were not valid JSON; the model is told instead of the tool running. */
  argsError?: string;
}

export interface ToolOutcome {
  call: ToolCall;
  /** JSON text handed back to the model. */
  content: string;
  isError: boolean;
}

/** Parses the concatenated argument fragments of one tool call (`""` means no arguments). */
export function parseToolArgs(id: string, name: string, json: string): ToolCall {
  if (json.trim() === "") return { id, name, args: {} };
  try {
    return { id, name, args: JSON.parse(json) };
  } catch (error) {
    return { id, name, args: json, argsError: `arguments are not valid JSON: ${(error as Error).message}` };
  }
}

/** The event announcing a complete tool call (after its `argsDelta` fragments). */
export function toolCallEvent(call: ToolCall): AgentEvent {
  const { id: toolCallId, name } = call;
  if (call.argsError)
    return { type: "delta", content: { kind: "tool_call", toolCallId, name, error: call.argsError } };
  return { type: "delta", content: { kind: "tool_call", toolCallId, name, args: call.args } };
}

/**
 * Runs the turn's tool calls one after another through the registry, yielding a `tool_result` delta
 * each. A `ToolError` (unknown tool, bad arguments, failing tool) becomes an error result the model
 * can react to, not a failed run. Returns early, yielding nothing more, once `signal` aborts.
 */
export async function* runToolCalls(
  calls: ToolCall[],
  tools: ToolRegistry,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent, ToolOutcome[]> {
  const outcomes: ToolOutcome[] = [];
  for (const call of calls) {
    if (signal.aborted) return outcomes;
    const { result, isError } = await execute(call, tools, signal);
    if (signal.aborted) return outcomes;
    const content = typeof result === "string" ? result : JSON.stringify(result ?? null);
    outcomes.push({ call, content, isError });
    const event = { kind: "tool_result", toolCallId: call.id, name: call.name, result };
    yield { type: "delta", content: isError ? { ...event, isError: true } : event };
  }
  return outcomes;
}

async function execute(call: ToolCall, tools: ToolRegistry, signal: AbortSignal) {
  if (call.argsError) return { result: { error: call.argsError }, isError: true };
  try {
    return { result: await tools.run(call.name, call.args, { signal }), isError: false };
  } catch (error) {
    if (error instanceof ToolError) return { result: { error: error.message }, isError: true };
    throw error;
  }
}
