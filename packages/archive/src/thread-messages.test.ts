import { describe, expect, it } from "vitest";
import { foldMessages } from "./thread-messages.js";

describe("foldMessages", () => {
  it("a multi-agent run's answer is the root agent's text, not its sub-agents' streams", () => {
    const run = {
      runId: "r1",
      threadId: "t",
      agent: "research",
      status: "completed" as const,
      createdAt: "2026-11-30T00:00:00.000Z",
      attempts: 1,
      input: { prompt: "Why?" },
    };
    const entries = [
      { type: "delta", content: { kind: "tool_call", toolCallId: "a", name: "researcher", args: {} } },
      { type: "token", content: "found it", agent: ["supervisor", "researcher"] },
      {
        type: "delta",
        content: { kind: "tool_call", toolCallId: "w", name: "word_count" },
        agent: ["supervisor", "researcher"],
      },
      {
        type: "delta",
        content: { kind: "tool_result", toolCallId: "a", name: "researcher", result: { text: "found it" } },
      },
      { type: "token", content: "Because." },
    ].map((e, i) => ({ json: JSON.stringify({ ...e, threadId: "t", runId: "r1", ts: 1, seq: i + 1 }) }));
    expect(foldMessages([run], entries)).toEqual([
      { runId: "r1", role: "user", content: "Why?" },
      {
        runId: "r1",
        role: "assistant",
        content: "Because.",
        toolCalls: [{ toolCallId: "a", name: "researcher", args: {}, result: { text: "found it" } }],
      },
    ]);
  });
});
