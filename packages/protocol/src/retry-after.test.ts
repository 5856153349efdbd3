import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./retry-after.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4000)).toBe(6000);
  });

  it.each([
    ["0", 0],
    [" 2 ", 2000],
    ["0.5", 500],
    ["1.0001", 1001],
    // The three HTTP-date forms of RFC 9110: IMF-fixdate, obsolete RFC 850, asctime.
    ["Thu, 01 Jan 2026 00:00:03 GMT", 3000],
    ["Thursday, 01-Jan-26 00:00:04 GMT", 4000],
    ["Thu Jan  1 00:00:05 2026", 5000],
    // A date in the past means "now", never a negative wait.
    ["Wed, 31 Dec 2025 23:00:00 GMT", 0],
  ])("%j → %s ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    for (const value of [undefined, "", "  ", "-1", "1e3", "3 s", "Someday, 99 Foo 2026", "2026-01-01"])
      expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
  });
});
