import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "./events.js";
import { reduceRun } from "./reduce-run.js";
import { createReducedRun, type ReducedRun } from "./reduced-run.js";

let seq = 0;
function ev(type: ThreadEvent["type"], content: unknown, ts = 1000 + seq * 10): ThreadEvent {
  seq += 1;
  return { type, content, threadId: "t", runId: "r1", seq, ts, id: `${ts}-${seq}` } as ThreadEvent;
}
function fold(events: ThreadEvent[], view: ReducedRun = createReducedRun(), now = 5000): ReducedRun {
  return events.reduce((v, e) => reduceRun(v, e, now), view);
}

describe("reduceRun", () => {
  it("builds text, tool calls, status timeline, usage and timings from a demo-like run", () => {
    seq = 0;
    const events = [
      ev("status", { state: "queued" }, 1000),
      ev("status", { state: "running", attempt: 1 }, 1100),
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "word_count", args: { text: "hi" } }, 1200),
      ev("delta", { kind: "tool_result", toolCallId: "c1", name: "word_count", result: { words: 1 } }, 1210),
      ev("delta", { kind: "progress", step: 1 }, 1220),
      ev("token", "Hello", 1500),
      ev("token", ", world", 1600),
      ev("done", { finishReason: "stop", usage: { inputTokens: 3, outputTokens: 2 } }, 1700),
    ];
    const view = fold(events, createReducedRun(), 1750);
    expect(view).toMatchObject({
      runId: "r1",
      status: "running",
      text: "Hello, world",
      finished: true,
      done: { finishReason: "stop" },
      usage: { inputTokens: 3, outputTokens: 2 },
      startedAt: 1000,
      firstTokenAt: 1500,
      ttftMs: 500,
      lastDeliveryLagMs: 50,
      lastSeq: 8,
      eventCount: 8,
      missedEvents: 0,
      deltas: [{ kind: "progress", step: 1 }],
    });
    expect(view.timeline).toEqual([
      { state: "queued", ts: 1000 },
      { state: "running", ts: 1100, attempt: 1 },
    ]);
    expect(view.toolCalls).toEqual([
      {
        toolCallId: "c1",
        name: "word_count",
        argsText: '{"text":"hi"}',
        args: { text: "hi" },
        result: { words: 1 },
        state: "done",
        error: undefined,
      },
    ]);
  });

  it("accumulates streamed tool-call arguments, then the final args and an error result", () => {
    seq = 0;
    const view = fold([
      ev("delta", { kind: "tool_call", toolCallId: "c9", name: "calculator", argsDelta: '{"expr' }),
      ev("delta", { kind: "tool_call", toolCallId: "c9", argsDelta: 'ession":"1/0"}' }),
    ]);
    expect(view.toolCalls[0]).toMatchObject({
      argsText: '{"expression":"1/0"}',
      state: "streaming",
      args: undefined,
    });
    const final = fold(
      [
        ev("delta", { kind: "tool_call", toolCallId: "c9", args: { expression: "1/0" } }),
        ev("delta", {
          kind: "tool_result",
          toolCallId: "c9",
          result: { error: "division by zero" },
          isError: true,
        }),
      ],
      view,
    );
    expect(final.toolCalls).toHaveLength(1);
    expect(final.toolCalls[0]).toMatchObject({
      args: { expression: "1/0" },
      state: "error",
      error: "division by zero",
    });
  });

  it("ignores an event whose seq it already applied (replays never double the text)", () => {
    seq = 0;
    const a = ev("token", "a");
    const b = ev("token", "b");
    const view = fold([a, b, a, b]);
    expect(view.text).toBe("ab");
    expect(view.eventCount).toBe(2);
    expect(reduceRun(view, b)).toBe(view);
  });

  it("counts events that never arrived", () => {
    seq = 0;
    const first = ev("token", "a");
    seq += 3;
    expect(fold([first, ev("token", "e")]).missedEvents).toBe(3);
  });

  it("keeps reasoning deltas apart from the answer text, in order", () => {
    seq = 0;
    const view = fold([
      ev("delta", { kind: "reasoning", id: "r0", text: "The user wants " }),
      ev("delta", { kind: "reasoning", id: "r0", text: "a greeting." }),
      ev("token", "Hello"),
      ev("delta", { kind: "reasoning", text: " Done." }),
      ev("token", "!"),
    ]);
    expect(view.reasoning).toBe("The user wants a greeting. Done.");
    expect(view.text).toBe("Hello!");
    expect(view.deltas).toEqual([]);
  });

  it("restarts text and tool calls on retry and keeps the timeline", () => {
    seq = 0;
    const view = fold([
      ev("status", { state: "running", attempt: 1 }),
      ev("token", "partial"),
      ev("delta", { kind: "reasoning", text: "hmm" }),
      ev("delta", { kind: "tool_call", toolCallId: "c1", args: {} }),
      ev("error", { code: "PROVIDER_DOWN", message: "503", retryable: true }),
      ev("status", { state: "retrying", attempt: 2 }),
      ev("token", "fresh"),
    ]);
    expect(view).toMatchObject({
      text: "fresh",
      reasoning: "",
      toolCalls: [],
      attempt: 2,
      finished: false,
      status: "retrying",
    });
    expect(view.error?.code).toBe("PROVIDER_DOWN");
    expect(view.timeline.map((s) => s.state)).toEqual(["running", "retrying"]);
  });

  it("finishes on a non-retryable error and on final statuses", () => {
    seq = 0;
    expect(fold([ev("error", { code: "BAD", message: "no", retryable: false })]).finished).toBe(true);
    expect(fold([ev("status", { state: "cancelled" })]).finished).toBe(true);
    expect(fold([ev("status", { state: "running" })]).finished).toBe(false);
  });

  it("measures TTFT from the caller's start time when given", () => {
    seq = 0;
    expect(fold([ev("token", "x", 2500)], createReducedRun({ startedAt: 2000 })).ttftMs).toBe(500);
  });

  it("does not mutate its input", () => {
    seq = 0;
    const start = createReducedRun();
    const snapshot = JSON.stringify(start);
    fold([ev("token", "x"), ev("delta", { kind: "tool_call", toolCallId: "c", args: {} })], start);
    expect(JSON.stringify(start)).toBe(snapshot);
  });
});
