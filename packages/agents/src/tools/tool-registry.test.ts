import { describe, expect, it } from "vitest";
import { z } from "zod";
import { calculator } from "./calculator.js";
import { defaultTools } from "./default-tools.js";
import { toJsonSchema } from "./to-json-schema.js";
import { defineTool, ToolError } from "./tool.js";
import { createToolRegistry } from "./tool-registry.js";
import { wordCount } from "./word-count.js";

const ctx = { signal: new AbortController().signal };

describe("tool registry", () => {
  const tools = createToolRegistry(defaultTools());

  it("runs the calculator and word_count with validated arguments", async () => {
    expect(await tools.run("calculator", { expression: "6 * 7" }, ctx)).toEqual({
      expression: "6 * 7",
      result: 42,
    });
    expect(await tools.run("word_count", { text: "two words\nand 🧵 three" }, ctx)).toEqual({
      words: 5,
      characters: 21,
      lines: 2,
    });
    expect(await wordCount.run({ text: "" }, ctx)).toEqual({ words: 0, characters: 0, lines: 0 });
  });

  it("names an unknown tool and lists the available ones", async () => {
    await expect(tools.run("shell", {}, ctx)).rejects.toMatchObject({
      code: "UNKNOWN_TOOL",
      message: 'no tool named "shell"; available: calculator, word_count',
    });
  });

  it("rejects invalid arguments with the failing field", async () => {
    const error = await tools.run("calculator", { expression: 42 }, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENTS" });
    expect((error as Error).message).toContain("expression");
  });

  it("turns an evaluation error into a tool error a model can read", async () => {
    await expect(tools.run("calculator", { expression: "1/0" }, ctx)).rejects.toMatchObject({
      code: "TOOL_FAILED",
      message: "cannot evaluate: division by zero",
    });
  });

  it("wraps an unexpected exception of a tool", async () => {
    const broken = defineTool({
      name: "broken",
      description: "always fails",
      inputSchema: z.object({}),
      async run() {
        throw new Error("disk on fire");
      },
    });
    await expect(createToolRegistry([broken]).run("broken", {}, ctx)).rejects.toMatchObject({
      code: "TOOL_FAILED",
      message: "broken failed: disk on fire",
    });
  });

  it("refuses duplicate and malformed tool names", () => {
    expect(() => createToolRegistry([calculator, calculator])).toThrow(
      'tool "calculator" is registered twice',
    );
    expect(() => createToolRegistry([{ ...calculator, name: "has space" }])).toThrow("must match");
  });

  it("describes tools as JSON Schema for providers", () => {
    expect(toJsonSchema(calculator)).toEqual({
      name: "calculator",
      description: calculator.description,
      inputSchema: {
        type: "object",
        properties: {
          expression: {
            type: "string",
            minLength: 1,
            maxLength: 500,
            description: expect.stringContaining("arithmetic"),
          },
        },
        required: ["expression"],
      },
    });
    expect(tools.schemas().map((s) => s.name)).toEqual(["calculator", "word_count"]);
    expect(tools.get("word_count")).toBe(wordCount);
    expect(tools.list()).toHaveLength(2);
  });
});
