import { describe, expect, it } from "vitest";
import { computeCost } from "./cost.js";
import { parseRetryAfter } from "./retry-after.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after": "0.5" }, 500],
    [{ "retry-after-ms": "1500", "retry-after": "9" }, 1500],
    [{ "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }, 3000],
    [{ "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" }, 0],
    [{ "retry-after": "soon" }, undefined],
    [{}, undefined],
  ])("%j → %s ms", (headers, expected) => {
    expect(parseRetryAfter(new Headers(headers), now)).toBe(expected);
  });
});

describe("computeCost", () => {
  const prices = { "gpt-4.1-mini": { input: 0.4, output: 1.6 } };
  it("prices input and output per million tokens", () => {
    expect(computeCost(prices, "gpt-4.1-mini", { inputTokens: 1_000_000, outputTokens: 500_000 })).toEqual({
      usd: 1.2,
    });
  });
  it("has no cost for a model missing from the table (never a guess)", () => {
    expect(computeCost(prices, "llama3.2", { inputTokens: 10, outputTokens: 10 })).toBeUndefined();
  });
});
