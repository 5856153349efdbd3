import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { completeTokenEvent } from "./complete-token-event.js";
import { ThreadEvent } from "./events.js";

const THREAD = "t-1";

/** Values a field may hold: valid ones, near misses, and other JSON types. */
const anyValue = fc.oneof(
  fc.constantFrom("token", "status", "x", "", THREAD, "other", "1-0", "17-x", "r_1", "bad id!", "0"),
  fc.string(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0, 1, 1.5, -0, 2 ** 53, 2 ** 53 - 1, 1_700_000_000_000),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
);
const candidate = fc.record(
  {
    id: fc.oneof(fc.constantFrom("1700000000000-3", "1-0", "x-1", "1-"), anyValue),
    seq: fc.oneof(fc.integer({ min: 0, max: 5 }), anyValue),
    type: fc.oneof(fc.constant("token"), anyValue),
    threadId: fc.oneof(fc.constant(THREAD), anyValue),
    runId: fc.oneof(fc.constantFrom("run-1", "r"), anyValue),
    ts: fc.oneof(fc.nat(), anyValue),
    content: fc.oneof(fc.string(), anyValue),
    note: anyValue,
    __proto__: anyValue,
  },
  { requiredKeys: [] },
);

describe("completeTokenEvent", () => {
  it("takes a script-published token event as it is", () => {
    const event = {
      id: "1700000000000-3",
      seq: 3,
      type: "token",
      threadId: THREAD,
      runId: "r",
      ts: 5,
      content: "hi",
    };
    expect(completeTokenEvent(event, THREAD)).toBe(event);
  });

  it.each([
    ["another thread", { type: "token", threadId: "t-2", ts: 5, content: "x" }],
    ["no ts (hand-published: zod fills it in)", { type: "token", threadId: THREAD, content: "x" }],
    ["an extra field (zod strips it)", { type: "token", threadId: THREAD, ts: 5, content: "x", note: 1 }],
    ["a status", { type: "status", threadId: THREAD, ts: 5, content: { state: "running" } }],
    ["a bad id", { id: "x", type: "token", threadId: THREAD, ts: 5, content: "x" }],
  ])("leaves %s to the schema", (_, event) => {
    expect(completeTokenEvent(event, THREAD)).toBeUndefined();
  });

  it("accepts only what the ThreadEvent schema accepts, and returns what it would", () => {
    fc.assert(
      fc.property(candidate, (raw) => {
        // Through JSON, like a channel message (an own "__proto__" key included).
        const event = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const fast = completeTokenEvent(event, THREAD);
        if (fast === undefined) return;
        const schema = ThreadEvent.safeParse(event);
        expect(schema.success).toBe(true);
        expect(schema.data).toEqual(fast);
      }),
      { numRuns: 5_000 },
    );
  });
});
