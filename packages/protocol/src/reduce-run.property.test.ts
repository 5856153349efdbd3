import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "./events.js";
import { reduceRun, SNAPSHOT_KIND, snapshotContent } from "./reduce-run.js";
import { createReducedRun, type ReducedRun } from "./reduced-run.js";

// Content of one event of a run, before the envelope (seq, id, ts) is added.
const agentPath = fc.option(fc.constantFrom(["supervisor"], ["supervisor", "a"], ["supervisor", "b"]), {
  nil: undefined,
});
const toolId = fc.constantFrom("c1", "c2", "c3");
const draft = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant("token"), content: fc.string({ maxLength: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("delta"),
      content: fc.oneof(
        fc.record({ kind: fc.constant("reasoning"), text: fc.string({ maxLength: 5 }) }),
        fc.record({
          kind: fc.constant("tool_call"),
          toolCallId: toolId,
          argsDelta: fc.string({ maxLength: 3 }),
        }),
        fc.record({
          kind: fc.constant("tool_call"),
          toolCallId: toolId,
          name: fc.constantFrom("word_count", "calculator"),
          args: fc.dictionary(fc.string({ maxLength: 3 }), fc.integer()),
        }),
        fc.record({
          kind: fc.constant("tool_result"),
          toolCallId: toolId,
          result: fc.oneof(fc.integer(), fc.record({ error: fc.string({ maxLength: 4 }) })),
          isError: fc.boolean(),
        }),
        fc.record({
          kind: fc.constant("progress"),
          usage: fc.record({ inputTokens: fc.nat(1000), outputTokens: fc.nat(1000) }),
          cost: fc.record({ usd: fc.integer({ min: 0, max: 500 }).map((cents) => cents / 100) }),
        }),
        fc.record({ kind: fc.constant("files"), path: fc.string({ maxLength: 4 }) }),
        fc.record({
          kind: fc.constant("checkpoint"),
          step: fc.integer({ min: 1, max: 3 }),
          state: fc.constant({}),
        }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("status"),
      content: fc.oneof(
        fc.record({ state: fc.constant("running"), attempt: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ state: fc.constant("retrying"), attempt: fc.integer({ min: 2, max: 3 }) }),
        fc.record({
          state: fc.constant("retrying"),
          attempt: fc.integer({ min: 2, max: 3 }),
          resumedFromStep: fc.integer({ min: 1, max: 3 }),
        }),
        fc.record({ state: fc.constant("running"), step: fc.nat(5), total: fc.nat(5) }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("error"),
      content: fc.record({
        code: fc.constant("PROVIDER_DOWN"),
        message: fc.string(),
        retryable: fc.boolean(),
      }),
    }),
  },
);
const done = fc.record({
  type: fc.constant("done"),
  content: fc.record({
    finishReason: fc.constantFrom("stop", "length"),
    usage: fc.record({ inputTokens: fc.nat(1000), outputTokens: fc.nat(1000) }),
    output: fc.record({ text: fc.string({ maxLength: 5 }) }),
  }),
});
const run = fc
  .tuple(fc.array(fc.tuple(draft, agentPath), { maxLength: 60 }), fc.option(done, { nil: undefined }))
  .map(([drafts, end]) => {
    const all = [
      ...drafts.map(([d, agent]) => ({ ...d, agent })),
      ...(end ? [{ ...end, agent: undefined }] : []),
    ];
    return all.map(({ agent, ...d }, i) => ({
      ...d,
      ...(agent === undefined ? {} : { agent }),
      threadId: "t",
      runId: "r1",
      seq: i + 1,
      ts: 1_000 + i * 7,
      id: `${1_000 + i * 7}-${i}`,
    })) as ThreadEvent[];
  });

const NOW = 1_000_000;
const fold = (events: ThreadEvent[], from: ReducedRun = createReducedRun({ runId: "r1" })) =>
  events.reduce((view, event) => reduceRun(view, event, NOW), from);

/** What a gateway sends for the state after `prefix`: the snapshot delta, through JSON as on the wire. */
function snapshotOf(prefix: ThreadEvent[]): ThreadEvent {
  const state = fold(prefix);
  const event = {
    type: "delta",
    threadId: "t",
    runId: "r1",
    ts: NOW - 5,
    ...(prefix.length > 0 ? { id: prefix[prefix.length - 1]?.id } : {}),
    content: snapshotContent(prefix.length > 0 ? state : undefined),
  };
  return JSON.parse(JSON.stringify(event)) as ThreadEvent;
}

// The delivery lag measures the last delivery (here: the snapshot's own), not the run's state.
const state = ({ lastDeliveryLagMs: _lag, ...rest }: ReducedRun) => rest;

describe("reduceRun with snapshots (property)", () => {
  it("a snapshot of any prefix, then the events after it, reduces to what the whole log reduces to", () => {
    fc.assert(
      fc.property(run, fc.nat(), (events, cut) => {
        const k = events.length === 0 ? 0 : cut % (events.length + 1);
        const whole = fold(events);
        const joined = fold(events.slice(k), fold([snapshotOf(events.slice(0, k))]));
        expect(state(joined)).toEqual(state(whole));
        // A client that already saw part of the run ends in the same state after the snapshot.
        const seen = fold(events.slice(0, Math.floor(k / 2)));
        expect(state(fold(events.slice(k), fold([snapshotOf(events.slice(0, k))], seen)))).toEqual(
          state(whole),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("an older snapshot never replaces newer state, and a malformed one changes nothing", () => {
    fc.assert(
      fc.property(run, (events) => {
        fc.pre(events.length >= 2);
        const whole = fold(events);
        expect(fold([snapshotOf(events.slice(0, 1))], whole)).toBe(whole);
        const junk = {
          ...snapshotOf(events),
          content: { kind: SNAPSHOT_KIND, run: { text: 3 } },
        } as ThreadEvent;
        expect(reduceRun(whole, junk, NOW)).toBe(whole);
      }),
      { numRuns: 100 },
    );
  });
});
