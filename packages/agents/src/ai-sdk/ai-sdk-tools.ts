import { dynamicTool, type JSONSchema7, jsonSchema, type ToolSet } from "ai";
import { ToolError } from "../tools/tool.js";
import type { ToolRegistry } from "../tools/tool-registry.js";

/**
 * The registry's tools as an AI SDK tool set. The schema is only described to the model here (no
 * `validate`): the registry validates the arguments itself and throws a `ToolError` the SDK hands back
 * to the model as a `tool-error`, so bad arguments and failing tools never fail the run.
 */
export function toAiSdkTools(registry: ToolRegistry): ToolSet {
  const tools: ToolSet = {};
  for (const schema of registry.schemas()) {
    tools[schema.name] = dynamicTool({
      description: schema.description,
      inputSchema: jsonSchema(schema.inputSchema as JSONSchema7),
      execute: (args, { abortSignal }) =>
        registry.run(schema.name, args, { signal: abortSignal ?? new AbortController().signal }),
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
