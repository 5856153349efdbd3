import { describe, expect, it } from "vitest";
import { EventId, isEventId } from "./ids.js";

describe("event ids", () => {
  it.each([
    ["0-0", true],
    ["1700000000000-0", true],
    ["18446744073709551615-18446744073709551615", true],
    ["9999999999999999999-1", true],
    ["18446744073709551616-0", false],
    ["1-18446744073709551616", false],
    ["99999999999999999999-0", false],
    ["1700000000000", false],
    ["-1-0", false],
    ["abc", false],
  ])("%s → %s (two unsigned 64-bit numbers, as Redis Streams require)", (id, ok) => {
    expect(isEventId(id)).toBe(ok);
    expect(EventId.safeParse(id).success).toBe(ok);
  });
});
