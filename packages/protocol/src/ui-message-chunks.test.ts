import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "./events.js";
import { createUiChunkMapper, encodeUiChunk, pushCoalesced, type UiChunk } from "./ui-message-chunks.js";

let seq = 0;
function ev(type: ThreadEvent["type"], content: unknown, runId = "run-1"): ThreadEvent {
  seq += 1;
  return { type, content, threadId: "t", runId, seq, ts: 1000 + seq, id: `${1000 + seq}-0` } as ThreadEvent;
}
function map(events: ThreadEvent[], runId?: string): UiChunk[] {
  const mapper = createUiChunkMapper(runId);
  return events.flatMap((e) => mapper.push(e));
}

describe("createUiChunkMapper: a run's events → AI SDK UI message chunks", () => {
  it("maps status, steps, reasoning, text, tool input and output, and done", () => {
    seq = 0;
    const status = { state: "running", attempt: 1, step: 1, total: 3 };
    const chunks = map([
      ev("status", { state: "running", attempt: 1 }),
      ev("status", status),
      ev("delta", { kind: "reasoning", id: "0", text: "Think " }),
      ev("delta", { kind: "reasoning", id: "0", text: "first." }),
      ev("token", "Let me count."),
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "word_count" }),
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "word_count", argsDelta: '{"text":' }),
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "word_count", argsDelta: '"a b"}' }),
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "word_count", args: { text: "a b" } }),
      ev("delta", { kind: "tool_result", toolCallId: "c1", name: "word_count", result: { words: 2 } }),
      ev("status", { ...status, step: 2 }),
      ev("token", "Two"),
      ev("token", " words."),
      ev("done", { finishReason: "stop", usage: { inputTokens: 3, outputTokens: 4 } }),
      ev("token", "after done"),
    ]);
    expect(chunks).toEqual([
      { type: "start", messageId: "run-1" },
      { type: "data-threadline-status", id: "status", data: { state: "running", attempt: 1 } },
      { type: "start-step" },
      { type: "data-threadline-status", id: "status", data: status },
      { type: "reasoning-start", id: "reasoning-1" },
      { type: "reasoning-delta", id: "reasoning-1", delta: "Think " },
      { type: "reasoning-delta", id: "reasoning-1", delta: "first." },
      { type: "reasoning-end", id: "reasoning-1" },
      { type: "text-start", id: "text-2" },
      { type: "text-delta", id: "text-2", delta: "Let me count." },
      { type: "text-end", id: "text-2" },
      { type: "tool-input-start", toolCallId: "c1", toolName: "word_count", dynamic: true },
      { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: '{"text":' },
      { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: '"a b"}' },
      {
        type: "tool-input-available",
        toolCallId: "c1",
        toolName: "word_count",
        input: { text: "a b" },
        dynamic: true,
      },
      { type: "tool-output-available", toolCallId: "c1", output: { words: 2 }, dynamic: true },
      { type: "finish-step" },
      { type: "start-step" },
      { type: "data-threadline-status", id: "status", data: { ...status, step: 2 } },
      { type: "text-start", id: "text-3" },
      { type: "text-delta", id: "text-3", delta: "Two" },
      { type: "text-delta", id: "text-3", delta: " words." },
      { type: "text-end", id: "text-3" },
      { type: "finish-step" },
      // No final status came before done: the status part says what the done means.
      { type: "data-threadline-status", id: "status", data: { state: "completed" } },
      {
        type: "finish",
        finishReason: "stop",
        messageMetadata: {
          threadline: { runId: "run-1", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 4 } },
        },
      },
    ]);
  });

  it("maps tool failures: bad input as input-error, a failed tool as output-error", () => {
    seq = 0;
    const chunks = map([
      ev("delta", { kind: "tool_call", toolCallId: "c1", name: "calc", error: "arguments are not JSON" }),
      ev("delta", {
        kind: "tool_result",
        toolCallId: "c1",
        name: "calc",
        result: { error: "bad" },
        isError: true,
      }),
      ev("delta", { kind: "tool_result", toolCallId: "c2", name: "late", result: 1 }),
    ]);
    expect(chunks.slice(1)).toEqual([
      { type: "tool-input-start", toolCallId: "c1", toolName: "calc", dynamic: true },
      {
        type: "tool-input-error",
        toolCallId: "c1",
        toolName: "calc",
        input: undefined,
        errorText: "arguments are not JSON",
        dynamic: true,
      },
      { type: "tool-output-error", toolCallId: "c1", errorText: "bad", dynamic: true },
      // A result for a call never announced still reaches the SDK as a complete call.
      { type: "tool-input-start", toolCallId: "c2", toolName: "late", dynamic: true },
      { type: "tool-input-available", toolCallId: "c2", toolName: "late", input: {}, dynamic: true },
      { type: "tool-output-available", toolCallId: "c2", output: 1, dynamic: true },
    ]);
  });

  it("passes a retryable error by (the retry follows) and reports a final one; cancelled finishes as other", () => {
    seq = 0;
    const chunks = map([
      ev("token", "par"),
      ev("error", { code: "PROVIDER_UNAVAILABLE", message: "503", retryable: true }),
      ev("status", { state: "retrying", attempt: 2 }),
      ev("token", "again"),
      ev("error", { code: "PROVIDER_BAD_REQUEST", message: "400", retryable: false }),
      ev("status", { state: "cancelled" }),
      ev("done", { finishReason: "cancelled" }),
    ]);
    expect(chunks.map((c) => c.type)).toEqual([
      "start",
      "text-start",
      "text-delta",
      "text-end",
      "data-threadline-status",
      "text-start",
      "text-delta",
      "text-end",
      "error",
      "data-threadline-status",
      "finish",
    ]);
    expect(chunks.find((c) => c.type === "error")).toEqual({
      type: "error",
      errorText: "PROVIDER_BAD_REQUEST: 400",
    });
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "other" });
  });

  it("keeps to one run, ignores repeats, and takes the run id from the first event when not given", () => {
    seq = 0;
    const a = ev("token", "a");
    const other = ev("token", "x", "run-2");
    const b = ev("token", "b");
    const mapper = createUiChunkMapper();
    expect(mapper.push(a)[0]).toEqual({ type: "start", messageId: "run-1" });
    expect(mapper.push(other)).toEqual([]);
    expect(mapper.push(a)).toEqual([]);
    expect(mapper.push(b)).toEqual([{ type: "text-delta", id: "text-1", delta: "b" }]);
  });

  it("frames a chunk as one SSE data line, with the event id when given", () => {
    expect(encodeUiChunk({ type: "text-delta", id: "t", delta: "hi\n" }, "5-0")).toBe(
      'id: 5-0\ndata: {"type":"text-delta","id":"t","delta":"hi\\n"}\n\n',
    );
    expect(encodeUiChunk({ type: "finish-step" })).toBe('data: {"type":"finish-step"}\n\n');
  });
});

describe("pushCoalesced: a run so far in a few chunks", () => {
  const run: ThreadEvent[] = [
    { type: "status", threadId: "t", runId: "r", seq: 1, ts: 1, content: { state: "running", attempt: 1 } },
    {
      type: "delta",
      threadId: "t",
      runId: "r",
      seq: 2,
      ts: 1,
      content: { kind: "reasoning", text: "Think " },
    },
    {
      type: "delta",
      threadId: "t",
      runId: "r",
      seq: 3,
      ts: 1,
      content: { kind: "reasoning", text: "twice." },
    },
    {
      type: "delta",
      threadId: "t",
      runId: "r",
      seq: 4,
      ts: 1,
      content: { kind: "tool_call", toolCallId: "c1", name: "calc", argsDelta: '{"a":' },
    },
    {
      type: "delta",
      threadId: "t",
      runId: "r",
      seq: 5,
      ts: 1,
      content: { kind: "tool_call", toolCallId: "c1", name: "calc", argsDelta: "1}", args: { a: 1 } },
    },
    {
      type: "delta",
      threadId: "t",
      runId: "r",
      seq: 6,
      ts: 1,
      content: { kind: "tool_result", toolCallId: "c1", result: 2 },
    },
    ...Array.from(
      { length: 500 },
      (_, i): ThreadEvent => ({
        type: "token",
        threadId: "t",
        runId: "r",
        seq: 7 + i,
        ts: 1,
        content: `w${i} `,
      }),
    ),
  ];

  it("merges each part's adjacent deltas: the same text, reasoning and tool input in a few chunks", () => {
    const mapper = createUiChunkMapper("r");
    const chunks = run.flatMap((e) => mapper.push(e));
    const merged: UiChunk[] = [];
    for (const chunk of chunks) pushCoalesced(merged, chunk);
    expect(merged.map((c) => c.type)).toEqual([
      "start",
      "data-threadline-status",
      "reasoning-start",
      "reasoning-delta",
      "reasoning-end",
      "tool-input-start",
      "tool-input-delta",
      "tool-input-available",
      "tool-output-available",
      "text-start",
      "text-delta",
    ]);
    const joined = (type: string) =>
      chunks
        .filter((c) => c.type === type)
        .map((c) => ("delta" in c ? c.delta : "inputTextDelta" in c ? c.inputTextDelta : ""))
        .join("");
    expect(merged.find((c) => c.type === "text-delta")).toMatchObject({ delta: joined("text-delta") });
    expect(merged.find((c) => c.type === "reasoning-delta")).toMatchObject({ delta: "Think twice." });
    expect(merged.find((c) => c.type === "tool-input-delta")).toMatchObject({ inputTextDelta: '{"a":1}' });
    // The originals are untouched (the first text delta is still one token).
    expect(chunks.find((c) => c.type === "text-delta")).toMatchObject({ delta: "w0 " });
  });

  it("keeps deltas of different parts apart, and a status update replaces only an adjacent one", () => {
    const merged: UiChunk[] = [];
    const push = (chunk: UiChunk) => pushCoalesced(merged, chunk);
    push({ type: "text-delta", id: "text-1", delta: "a" });
    push({ type: "text-delta", id: "text-2", delta: "b" });
    push({ type: "data-threadline-status", id: "status", data: { state: "running" } });
    push({ type: "data-threadline-status", id: "status", data: { state: "completed" } });
    push({ type: "start-step" });
    push({ type: "data-threadline-status", id: "status", data: { state: "failed" } });
    expect(merged).toEqual([
      { type: "text-delta", id: "text-1", delta: "a" },
      { type: "text-delta", id: "text-2", delta: "b" },
      { type: "data-threadline-status", id: "status", data: { state: "completed" } },
      { type: "start-step" },
      { type: "data-threadline-status", id: "status", data: { state: "failed" } },
    ]);
  });
});
