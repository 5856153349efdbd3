import { ERRORS } from "@threadline/protocol";
import { z } from "zod";
import { type ToolSchema, toJsonSchema } from "./to-json-schema.js";
import { type Tool, type ToolContext, ToolError } from "./tool.js";

export interface ToolRegistry {
  get(name: string): Tool | undefined;
  list(): Tool[];
  /** Provider-ready descriptions of every tool. */
  schemas(): ToolSchema[];
  /**
   * Validates `args` against the tool's schema and runs it. Throws `ToolError` for an unknown tool,
   * invalid arguments or a failing tool, with a message a model can act on.
   */
  run(name: string, args: unknown, ctx: ToolContext): Promise<unknown>;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A registry of tools by name, shared by every agent that calls tools. */
export function createToolRegistry(tools: Tool[]): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name "${tool.name}" must match ${TOOL_NAME}`);
    if (byName.has(tool.name)) throw new Error(`tool "${tool.name}" is registered twice`);
    byName.set(tool.name, tool);
  }
  return {
    get: (name) => byName.get(name),
    list: () => [...byName.values()],
    schemas: () => [...byName.values()].map(toJsonSchema),
    async run(name, args, ctx) {
      const tool = byName.get(name);
      if (!tool) {
        throw new ToolError(
          ERRORS.UNKNOWN_TOOL.code,
          `no tool named "${name}"; available: ${[...byName.keys()].join(", ")}`,
        );
      }
      const parsed = tool.inputSchema.safeParse(args);
      if (!parsed.success) {
        throw new ToolError(
          ERRORS.INVALID_ARGUMENTS.code,
          `invalid arguments for ${name}: ${z.prettifyError(parsed.error)}`,
        );
      }
      try {
        return await tool.run(parsed.data, ctx);
      } catch (error) {
        if (error instanceof ToolError) throw error;
        throw new ToolError(ERRORS.TOOL_FAILED.code, `${name} failed: ${(error as Error).message}`);
      }
    },
  };
}
