import { type JSONSchema7, jsonSchema, type ToolSet, tool } from "ai";
import { ToolError } from "../tools/tool.js";
import type { ToolRegistry } from "../tools/tool-registry.js";

/**
 * The registry's tools as an AI SDK tool set the model is told about, without `execute`: the SDK ends
 * each model turn at its tool calls and the agent runs them itself (`runToolCalls`), so every result can
 * be checkpointed before the next one. The schema is only described (no `validate`): the registry
 * validates the arguments and throws a `ToolError` that goes back to the model as an error result.
 */
export function describeTools(registry: ToolRegistry): ToolSet {
  const tools: ToolSet = {};
  for (const schema of registry.schemas()) {
    tools[schema.name] = tool({
      description: schema.description,
      inputSchema: jsonSchema(schema.inputSchema as JSONSchema7),
    });
  }
  return tools;
}

/** What the model (and the `tool_result` event) is told about a failed tool call. */
export function toolErrorMessage(error: unknown): string {
  if (error instanceof ToolError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
