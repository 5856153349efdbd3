import { z } from "zod";
import type { Tool } from "./tool.js";

/** A tool as providers describe it: Anthropic's `input_schema`, OpenAI's `function.parameters`. */
export interface ToolSchema {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the arguments, without the `$schema` marker. */
  inputSchema: Record<string, unknown>;
}

/** Converts a tool's zod input schema to the JSON Schema providers expect. */
export function toJsonSchema(tool: Tool): ToolSchema {
  // `io: "input"` describes what the model may send (fields with defaults stay optional).
  const { $schema: _ignored, ...inputSchema } = z.toJSONSchema(tool.inputSchema, { io: "input" }) as Record<
    string,
    unknown
  >;
  return { name: tool.name, description: tool.description, inputSchema };
}
