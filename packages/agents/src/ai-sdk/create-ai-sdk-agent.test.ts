import {
  AnthropicStream,
  anthropicTextReply,
  type FakeLlmServer,
  OpenAiResponsesStream,
  OpenAiStream,
  startFakeAnthropicServer,
  startFakeOpenAiServer,
} from "@threadline/testing";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createAnthropicAgent } from "../providers/anthropic-agent.js";
import type { LlmConfig } from "../providers/llm-config.js";
import { createOpenAiAgent } from "../providers/openai-agent.js";
import { driveAgent } from "../providers/test-support/drive-agent.js";
import { defaultTools } from "../tools/default-tools.js";
import { defineTool } from "../tools/tool.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import type { AgentEvent } from "../types.js";

// The adapter's whole mapping (AI SDK full stream → Threadline events), with the real providers
// (@ai-sdk/anthropic, @ai-sdk/openai, @ai-sdk/openai-compatible) against byte-level fake servers.
const tools = createToolRegistry(defaultTools());
let servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function anthropicServer() {
  const server = await startFakeAnthropicServer();
  servers.push(server);
  return server;
}
async function openAiServer() {
  const server = await startFakeOpenAiServer();
  servers.push(server);
  return server;
}

function config(patch: Partial<LlmConfig>): LlmConfig {
  return {
    anthropic: { model: "claude-sonnet-4-6" },
    openai: { model: "gpt-4.1-mini" },
    maxSteps: 5,
    prices: {},
    ...patch,
  };
}

const step = (n: number, total = 5): AgentEvent => ({
  type: "status",
  content: { state: "running", attempt: 1, step: n, total },
});
const tok = (content: string): AgentEvent => ({ type: "token", content });
const think = (id: string, text: string): AgentEvent => ({
  type: "delta",
  content: { kind: "reasoning", id, text },
});
const open = (toolCallId: string, name: string): AgentEvent => ({
  type: "delta",
  content: { kind: "tool_call", toolCallId, name },
});
const argsDelta = (toolCallId: string, name: string, d: string): AgentEvent => ({
  type: "delta",
  content: { kind: "tool_call", toolCallId, name, argsDelta: d },
});
const call = (toolCallId: string, name: string, args: unknown): AgentEvent => ({
  type: "delta",
  content: { kind: "tool_call", toolCallId, name, args },
});
const result = (toolCallId: string, name: string, r: unknown): AgentEvent => ({
  type: "delta",
  content: { kind: "tool_result", toolCallId, name, result: r },
});

describe("AI SDK adapter: streamText full stream → Threadline events", () => {
  it("maps a 3-step tool loop with Anthropic thinking: steps, reasoning, tool input, results, done with cost", async () => {
    const server = await anthropicServer();
    server.enqueue(
      {
        kind: "sse",
        frames: new AnthropicStream()
          .messageStart(100)
          .thinkingBlock(0, "Count the words ", "first.")
          .toolUseBlock(1, "toolu_1", "word_count", '{"text": ', '"a b c"}')
          .messageDelta("tool_use", 30)
          .messageStop()
          .frames(),
      },
      {
        kind: "sse",
        frames: new AnthropicStream()
          .messageStart(150)
          .textBlock(0, "Three words.")
          .toolUseBlock(1, "toolu_2", "calculator", '{"expression": "3 * 2"}')
          .messageDelta("tool_use", 20)
          .messageStop()
          .frames(),
      },
      anthropicTextReply(["Doubled, ", "that is 6."], { inputTokens: 200 }),
    );
    const prices = { "claude-sonnet-4-6": { input: 3, output: 15 } };
    const agent = createAnthropicAgent(
      config({
        anthropic: { apiKey: "sk-ant-test", model: "claude-sonnet-4-6", baseUrl: server.url },
        prices,
      }),
      { tools },
    );
    const { events, progress, error } = await driveAgent(agent, {
      prompt: "Count the words of 'a b c', then double it.",
      reasoning: { budgetTokens: 1024 },
    });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      step(1),
      think("0", "Count the words "),
      think("0", "first."),
      open("toolu_1", "word_count"),
      argsDelta("toolu_1", "word_count", '{"text": '),
      argsDelta("toolu_1", "word_count", '"a b c"}'),
      call("toolu_1", "word_count", { text: "a b c" }),
      result("toolu_1", "word_count", { words: 3, characters: 5, lines: 1 }),
      step(2),
      tok("Three words."),
      open("toolu_2", "calculator"),
      argsDelta("toolu_2", "calculator", '{"expression": "3 * 2"}'),
      call("toolu_2", "calculator", { expression: "3 * 2" }),
      result("toolu_2", "calculator", { expression: "3 * 2", result: 6 }),
      step(3),
      tok("Doubled, "),
      tok("that is 6."),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "end_turn",
          usage: { inputTokens: 450, outputTokens: 52 },
          cost: { usd: 0.00213 },
          output: { text: "Doubled, that is 6.", model: "claude-sonnet-4-6", steps: 3 },
        },
      },
    ]);
    // Live usage: after each model turn, the cumulative tokens and cost so far (issue 18 item 3).
    expect(progress.map((p) => p.content)).toEqual([
      { kind: "progress", step: 1, usage: { inputTokens: 100, outputTokens: 30 }, cost: { usd: 0.00075 } },
      { kind: "progress", step: 2, usage: { inputTokens: 250, outputTokens: 50 }, cost: { usd: 0.0015 } },
      { kind: "progress", step: 3, usage: { inputTokens: 450, outputTokens: 52 }, cost: { usd: 0.00213 } },
    ]);
    expect(server.requests).toHaveLength(3);
    expect(server.requests[0]?.body).toMatchObject({
      thinking: { type: "enabled", budget_tokens: 1024 },
      // The provider adds the thinking budget to the answer's 4096.
      max_tokens: 4096 + 1024,
    });
    // The thinking block goes back with its signature, as Anthropic requires in a tool loop.
    expect(JSON.stringify(server.requests[1]?.body)).toContain(
      '"signature":"EqQBCkYIARgCKkBfakeSignature=="',
    );
  });

  it("maps OpenAI Responses API reasoning summaries and a function call", async () => {
    const server = await openAiServer();
    server.enqueue(
      new OpenAiResponsesStream()
        .created()
        .reasoning("rs_1", "The user wants ", "a sum.")
        .functionCall("fc_1", "call_1", "calculator", '{"expression":', '"2+2"}')
        .completed(40, 12, 8)
        .reply(),
      new OpenAiResponsesStream().created().message("msg_1", "It is ", "4.").completed(60, 3).reply(),
    );
    const agent = createOpenAiAgent(
      config({ openai: { apiKey: "sk-test", model: "o4-mini", baseUrl: server.baseUrl, api: "responses" } }),
      { tools },
    );
    const { events, error } = await driveAgent(agent, { prompt: "2+2?", reasoning: {} });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      step(1),
      think("rs_1:0", "The user wants "),
      think("rs_1:0", "a sum."),
      open("call_1", "calculator"),
      argsDelta("call_1", "calculator", '{"expression":'),
      argsDelta("call_1", "calculator", '"2+2"}'),
      call("call_1", "calculator", { expression: "2+2" }),
      result("call_1", "calculator", { expression: "2+2", result: 4 }),
      step(2),
      tok("It is "),
      tok("4."),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "stop",
          usage: { inputTokens: 100, outputTokens: 15 },
          output: { text: "It is 4.", model: "o4-mini", steps: 2 },
        },
      },
    ]);
    expect(server.requests[0]?.path).toBe("/v1/responses");
    expect(server.requests[0]?.body).toMatchObject({ model: "o4-mini", reasoning: { summary: "auto" } });
  });

  it("maps reasoning_content from an OpenAI-compatible server (chat completions) to reasoning deltas", async () => {
    const server = await openAiServer();
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream(undefined, "qwen3")
        .role()
        .reasoning("Short ", "question.")
        .text("Hi", "!")
        .finish("stop")
        .usage(7, 4)
        .done()
        .frames(),
    });
    const agent = createOpenAiAgent(config({ openai: { model: "qwen3", baseUrl: server.baseUrl } }), {
      tools,
    });
    const { events, error } = await driveAgent(agent, { prompt: "hi" });

    expect(error).toBeUndefined();
    const reasoning = events.filter((e) => e.type === "delta" && e.content.kind === "reasoning");
    expect(reasoning.map((e) => (e.content as unknown as { text: string }).text)).toEqual([
      "Short ",
      "question.",
    ]);
    expect(events.filter((e) => e.type === "token")).toEqual([tok("Hi"), tok("!")]);
    expect(server.requests[0]?.path).toBe("/v1/chat/completions");
  });

  it("passes the chat history before the prompt", async () => {
    const server = await openAiServer();
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), { tools });
    const { error } = await driveAgent(agent, {
      prompt: "And now?",
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there." },
      ],
    });
    expect(error).toBeUndefined();
    expect(server.requests[0]?.body).toMatchObject({
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there." },
        { role: "user", content: "And now?" },
      ],
    });
  });

  it("a failing tool becomes an error tool_result and goes back to the model", async () => {
    const server = await openAiServer();
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .toolCall(0, "call_1", "calculator")
        .toolArgs(0, '{"expression":"1/0"}')
        .finish("tool_calls")
        .usage(5, 5)
        .done()
        .frames(),
    });
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), { tools });
    const { events, error } = await driveAgent(agent, { prompt: "1/0" });
    expect(error).toBeUndefined();
    const failed = events.find((e) => e.type === "delta" && e.content.kind === "tool_result");
    expect(failed?.content).toEqual({
      kind: "tool_result",
      toolCallId: "call_1",
      name: "calculator",
      result: { error: expect.stringContaining("cannot evaluate") },
      isError: true,
    });
    const sent = (server.requests[1]!.body as { messages: { role: string; content: string }[] }).messages;
    expect(sent.find((m) => m.role === "tool")?.content).toContain("cannot evaluate");
  });

  it("abort while the tool input streams: no full args, no result, the HTTP stream closed, nothing after", async () => {
    const server = await anthropicServer();
    const fragments = Array.from({ length: 40 }, (_, i) => (i === 0 ? '{"text": "' : `w${i} `));
    const frames = new AnthropicStream()
      .messageStart(5)
      .toolUseBlock(0, "toolu_9", "word_count", ...fragments, '"}')
      .messageDelta("tool_use", 5)
      .messageStop()
      .frames();
    server.enqueue({ kind: "sse", frames, frameDelayMs: 5 });
    const controller = new AbortController();
    const agent = createAnthropicAgent(
      config({ anthropic: { apiKey: "k", model: "claude-sonnet-4-6", baseUrl: server.url } }),
      { tools },
    );
    let seenAtAbort = 0;
    const outcome = await driveAgent(
      agent,
      { prompt: "count" },
      {
        signal: controller.signal,
        onEvent: (event, index) => {
          if (event.type === "delta" && "argsDelta" in event.content && seenAtAbort === 0) {
            seenAtAbort = index + 1;
            controller.abort();
          }
        },
      },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toHaveLength(seenAtAbort);
    expect(outcome.events.at(-1)).toEqual(argsDelta("toolu_9", "word_count", '{"text": "'));
    await expect(server.responses[0]?.closed).resolves.toEqual({ early: true });
    expect(server.responses[0]?.framesWritten).toBeLessThan(frames.length);
  });

  it("abort while the tool runs: the tool sees the abort, no result is published, no next request", async () => {
    const server = await openAiServer();
    let toolSawAbort = false;
    const slow = defineTool({
      name: "slow_search",
      description: "Searches slowly.",
      inputSchema: z.object({ query: z.string() }),
      run: (_args, { signal }) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            toolSawAbort = true;
            resolve({ hits: [] });
          });
        }),
    });
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .toolCall(0, "call_s", "slow_search")
        .toolArgs(0, '{"query":"threadline"}')
        .finish("tool_calls")
        .usage(5, 5)
        .done()
        .frames(),
    });
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), {
      tools: createToolRegistry([slow]),
    });
    const controller = new AbortController();
    const outcome = await driveAgent(
      agent,
      { prompt: "search" },
      {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "delta" && "args" in event.content) setTimeout(() => controller.abort(), 20);
        },
      },
    );
    expect(outcome.error).toBeUndefined();
    expect(toolSawAbort).toBe(true);
    expect(outcome.events.at(-1)).toEqual(call("call_s", "slow_search", { query: "threadline" }));
    expect(outcome.events.some((e) => e.type === "delta" && e.content.kind === "tool_result")).toBe(false);
    expect(server.requests).toHaveLength(1);
  });
});
