import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareIds } from "./replay-log.js";

/** The straightforward definition compareIds must keep: split on "-", compare numerically as strings. */
function reference(a: string, b: string): number {
  const [am = "0", an = "0"] = a.split("-");
  const [bm = "0", bn = "0"] = b.split("-");
  if (am.length !== bm.length) return am.length - bm.length;
  if (am !== bm) return am < bm ? -1 : 1;
  if (an.length !== bn.length) return an.length - bn.length;
  return an === bn ? 0 : an < bn ? -1 : 1;
}

describe("compareIds", () => {
  it("orders stream ids numerically", () => {
    expect(compareIds("1700000000000-2", "1700000000000-10")).toBeLessThan(0);
    expect(compareIds("999-5", "1000-0")).toBeLessThan(0);
    expect(compareIds("5-5", "5-5")).toBe(0);
    expect(compareIds("6", "5-9")).toBeGreaterThan(0);
  });

  it("agrees with the split-based definition on any ids, well-formed or not", () => {
    const id = fc.oneof(
      fc
        .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.bigInt({ min: 0n, max: 2n ** 64n }))
        .map(([ms, n]) => `${ms}-${n}`),
      fc.stringMatching(/^[0-9-]{0,8}$/),
      fc.string(),
    );
    fc.assert(
      fc.property(id, id, (a, b) => {
        expect(compareIds(a, b)).toBe(reference(a, b));
      }),
      { numRuns: 5_000 },
    );
  });
});
