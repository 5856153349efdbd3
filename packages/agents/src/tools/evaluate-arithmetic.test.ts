import { describe, expect, it } from "vitest";
import { ArithmeticError, evaluateArithmetic } from "./evaluate-arithmetic.js";

describe("evaluateArithmetic", () => {
  it.each([
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["10 - 4 - 3", 3],
    ["2 ^ 3 ^ 2", 512],
    ["2 ** 10", 1024],
    ["-2 ^ 2", -4],
    ["2 ^ -1", 0.5],
    ["--3", 3],
    ["+4 - -4", 8],
    ["7 % 4", 3],
    ["1.5e2 / .5", 300],
    ["sqrt(16) + abs(-2) + round(2.5) + floor(1.9) + ceil(1.1)", 12],
    ["max(1, 5, 3) - min(4, 2)", 3],
    ["round(pi * 100) / 100", 3.14],
    ["  E ", Math.E],
    ["round(12 / 200 * 60 * 10) / 10", 3.6],
  ])("%s = %d", (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it.each([
    ["1 / 0", /division by zero/],
    ["5 % 0", /division by zero/],
    ["(1 + 2", /expected "\)" at the end/],
    ["1 + 2)", /unexpected "\)" at 6/],
    ["1 +", /ends too early/],
    ["", /ends too early/],
    ["2 $ 3", /unexpected character "\$" at 2/],
    ["process.exit(1)", /unexpected character "\."/],
    ["constructor(1)", /unknown name "constructor"/],
    ["sqrt(1, 2)", /sqrt\(\) takes 1 argument/],
    ["10 ^ 400", /not a finite number/],
    ["sqrt(-1)", /not a finite number/],
    [`${"(".repeat(100)}1${")".repeat(100)}`, /nested deeper than 64/],
    [`${"-".repeat(100)}1`, /nested deeper than 64/],
  ])("rejects %s", (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(ArithmeticError);
    expect(() => evaluateArithmetic(expression)).toThrow(message);
  });
});
