import { ERRORS } from "@threadline/protocol";
import { z } from "zod";
import { ArithmeticError, evaluateArithmetic } from "./evaluate-arithmetic.js";
import { defineTool, ToolError } from "./tool.js";

const CalculatorInput = z.object({
  expression: z
    .string()
    .min(1)
    .max(500)
    .describe("An arithmetic expression, e.g. `(12 + 30) * 2 ^ 3 / sqrt(16)`"),
});

/** Evaluates arithmetic safely (a parser, never `eval`). */
export const calculator = defineTool({
  name: "calculator",
  description:
    "Evaluates an arithmetic expression: + - * / % ^, parentheses, pi, e, sqrt, abs, round, floor, ceil, min, max.",
  inputSchema: CalculatorInput,
  async run({ expression }) {
    try {
      return { expression, result: evaluateArithmetic(expression) };
    } catch (error) {
      if (error instanceof ArithmeticError)
        throw new ToolError(ERRORS.TOOL_FAILED.code, `cannot evaluate: ${error.message}`);
      throw error;
    }
  },
});
