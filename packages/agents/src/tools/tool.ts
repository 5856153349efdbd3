import type { ERRORS } from "@threadline/protocol";
import type { z } from "zod";

export interface ToolContext {
  /** Aborted when the run is cancelled: long tools stop early. */
  signal: AbortSignal;
}

/**
 * A local function an agent can call. `inputSchema` validates the model's arguments and is sent to
 * providers as JSON Schema (`toJsonSchema`); `run` returns a JSON-serializable result.
 */
export interface Tool<I = unknown, O = unknown> {
  /** `^[a-zA-Z0-9_-]{1,64}$`: the name providers accept for a function. */
  name: string;
  description: string;
  inputSchema: z.ZodType<I>;
  run(args: I, ctx: ToolContext): Promise<O>;
}

/**
 * A tool call that cannot succeed as asked (bad arguments, division by zero, unknown tool). Agents
 * hand its message back to the model as the tool result instead of failing the run.
 */
export class ToolError extends Error {
  constructor(
    readonly code:
      | typeof ERRORS.UNKNOWN_TOOL.code
      | typeof ERRORS.INVALID_ARGUMENTS.code
      | typeof ERRORS.TOOL_FAILED.code,
    message: string,
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/** Keeps a tool's argument type when it is declared (`defineTool({...})`). */
export function defineTool<I, O>(tool: Tool<I, O>): Tool<I, O> {
  return tool;
}
