import type { AgentContext, AgentEvent } from "../types.js";
import { ToolError } from "./tool.js";
import type { ToolRegistry } from "./tool-registry.js";

/**
 * Runs a tool and publishes its call and result; a failing tool becomes an error result, not a
 * failed run. Returns the result (undefined after an error or an abort).
 */
export async function* callTool(
  tools: ToolRegistry,
  ctx: Pick<AgentContext, "signal">,
  toolCallId: string,
  name: string,
  args: Record<string, unknown>,
): AsyncGenerator<AgentEvent, unknown> {
  yield { type: "delta", content: { kind: "tool_call", toolCallId, name, args } };
  try {
    const result = await tools.run(name, args, { signal: ctx.signal });
    if (ctx.signal.aborted) return undefined;
    yield { type: "delta", content: { kind: "tool_result", toolCallId, name, result } };
    return result;
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    yield {
      type: "delta",
      content: { kind: "tool_result", toolCallId, name, result: { error: error.message }, isError: true },
    };
    return undefined;
  }
}
