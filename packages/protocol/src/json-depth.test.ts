import { describe, expect, it } from "vitest";
import { jsonDepth, MAX_JSON_DEPTH } from "./json-depth.js";
import { RunRequest } from "./runs.js";

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe("jsonDepth", () => {
  it("counts object and array levels", () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [{ b: 1 }] })).toBe(3);
    expect(jsonDepth(nested(10))).toBe(10);
  });

  it("stops past the limit without overflowing the stack on 20,000 levels", () => {
    expect(jsonDepth(nested(20_000))).toBe(MAX_JSON_DEPTH + 1);
  });
});

describe("RunRequest bounds nesting", () => {
  it("accepts metadata and input up to the limit", () => {
    expect(
      RunRequest.safeParse({ input: nested(MAX_JSON_DEPTH), metadata: nested(MAX_JSON_DEPTH) }).success,
    ).toBe(true);
  });

  it.each(["metadata", "input"])("refuses %s nested 20,000 levels deep, naming the field", (field) => {
    const body = { input: {}, [field]: nested(20_000) };
    const result = RunRequest.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      [field, `nests deeper than ${MAX_JSON_DEPTH} levels; flatten it`],
    ]);
  });
});
