import pino from "pino";
import { describe, expect, it } from "vitest";
import type { AgentEvent } from "../types.js";
import { createDemoAgent } from "./demo-agent.js";
import { DemoInput } from "./demo-input.js";

const log = pino({ level: "silent" });
const agent = createDemoAgent();

async function collect(
  input: unknown,
  signal = new AbortController().signal,
  onEvent?: (e: AgentEvent) => void,
) {
  const events: AgentEvent[] = [];
  const ctx = { threadId: "t", runId: "r", attempt: 1, signal, log };
  for await (const event of agent.run(DemoInput.parse(input), ctx)) {
    events.push(event);
    onEvent?.(event);
  }
  return events;
}

describe("demo agent", () => {
  it("plans, calls both tools with their arguments, streams maxTokens tokens, then done", async () => {
    const prompt = "Explain resumable streams in two short sentences please";
    const events = await collect({ prompt, tokensPerSecond: 0, maxTokens: 40 });
    const head = events.slice(0, 8);
    expect(head).toEqual([
      { type: "status", content: { state: "running", step: 1, total: 3, message: "planning" } },
      { type: "status", content: { state: "running", step: 2, total: 3, message: "calling tools" } },
      {
        type: "delta",
        content: { kind: "tool_call", toolCallId: "call_1", name: "word_count", args: { text: prompt } },
      },
      {
        type: "delta",
        content: {
          kind: "tool_result",
          toolCallId: "call_1",
          name: "word_count",
          result: { words: 8, characters: 55, lines: 1 },
        },
      },
      {
        type: "delta",
        content: {
          kind: "tool_call",
          toolCallId: "call_2",
          name: "calculator",
          args: { expression: "round(8 / 200 * 60 * 10) / 10" },
        },
      },
      {
        type: "delta",
        content: {
          kind: "tool_result",
          toolCallId: "call_2",
          name: "calculator",
          result: { expression: "round(8 / 200 * 60 * 10) / 10", result: 2.4 },
        },
      },
      { type: "status", content: { state: "running", step: 3, total: 3, message: "writing the answer" } },
      { type: "token", content: "You" },
    ]);
    const tokens = events.filter((e) => e.type === "token").map((e) => e.content as string);
    expect(tokens).toHaveLength(40);
    expect(tokens.join("")).toMatch(
      /^You asked about "Explain resumable streams in two short s…" \(8 words, 55 characters\); reading it takes about 2.4 seconds/,
    );
    expect(events.at(-1)).toEqual({
      type: "done",
      content: {
        finishReason: "stop",
        usage: { inputTokens: 8, outputTokens: 40 },
        output: { text: tokens.join("") },
      },
    });
    expect(events).toHaveLength(7 + 40 + 1);
  });

  it("is deterministic for a prompt and differs between prompts", async () => {
    const a1 = await collect({ prompt: "alpha", tokensPerSecond: 0, maxTokens: 200 });
    const a2 = await collect({ prompt: "alpha", tokensPerSecond: 0, maxTokens: 200 });
    const b = await collect({ prompt: "beta", tokensPerSecond: 0, maxTokens: 200 });
    expect(a1).toEqual(a2);
    expect(JSON.stringify(b.at(-1))).not.toEqual(JSON.stringify(a1.at(-1)));
  });

  it("honours a small maxTokens, cutting the first sentence", async () => {
    const events = await collect({ prompt: "hi", tokensPerSecond: 0, maxTokens: 1 });
    expect(events.filter((e) => e.type === "token")).toEqual([{ type: "token", content: "You" }]);
  });

  it("paces tokens at tokensPerSecond", async () => {
    const started = performance.now();
    await collect({ prompt: "pace me", tokensPerSecond: 200, maxTokens: 41 });
    const elapsed = performance.now() - started;
    // 40 intervals of 5 ms: 200 ms, plus scheduling slack.
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(600);
  });

  it("streams as fast as possible with tokensPerSecond 0", async () => {
    const started = performance.now();
    const events = await collect({ prompt: "bench", tokensPerSecond: 0, maxTokens: 20_000 });
    expect(events.filter((e) => e.type === "token")).toHaveLength(20_000);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("stops promptly on abort and emits nothing after it", async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    let tokensSeen = 0;
    const events = await collect(
      { prompt: "cancel me", tokensPerSecond: 20, maxTokens: 1000 },
      controller.signal,
      (e) => {
        if (e.type === "token" && ++tokensSeen === 2) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    );
    expect(performance.now() - abortedAt).toBeLessThan(30);
    expect(events.filter((e) => e.type === "token")).toHaveLength(2);
    expect(events.some((e) => e.type === "done")).toBe(false);
  });

  it("applies defaults and bounds to its input", () => {
    expect(DemoInput.parse({ prompt: "x" })).toEqual({ prompt: "x", tokensPerSecond: 50, maxTokens: 64 });
    expect(DemoInput.safeParse({ prompt: "x", maxTokens: 100_001 }).success).toBe(false);
    expect(DemoInput.safeParse({ prompt: "x", tokensPerSecond: 1_000_001 }).success).toBe(false);
    expect(DemoInput.safeParse({ prompt: "x".repeat(32_001) }).success).toBe(false);
    expect(DemoInput.safeParse({}).success).toBe(false);
  });
});
