import {
  AnthropicStream,
  anthropicTextReply,
  type FakeLlmServer,
  type FakeReply,
  OpenAiResponsesStream,
  OpenAiStream,
  openAiTextReply,
  startFakeAnthropicServer,
  startFakeOpenAiServer,
} from "@threadline/testing";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createAnthropicAgent } from "../providers/anthropic-agent.js";
import type { LlmConfig } from "../providers/llm-config.js";
import { createOpenAiAgent } from "../providers/openai-agent.js";
import { driveAgent } from "../providers/test-support/drive-agent.js";
import { calculator } from "../tools/calculator.js";
import { defineTool, type Tool } from "../tools/tool.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import { wordCount } from "../tools/word-count.js";
import type { Agent, AgentEvent } from "../types.js";

// Issue 18 item 4 for the LLM agents: every completed step (a model turn that called tools, each tool
// result) is checkpointed; a retried attempt rebuilds the conversation from the latest checkpoint and
// goes on after it. Real SDKs against the byte-level fake servers.
let servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** The built-in tools, counting their runs: the side effect a resumed attempt must not repeat. */
function countingTools(extra: Tool[] = []) {
  const runs: Record<string, number> = {};
  const counting = (tool: Tool): Tool =>
    defineTool({
      ...tool,
      async run(input, ctx) {
        runs[tool.name] = (runs[tool.name] ?? 0) + 1;
        return tool.run(input, ctx);
      },
    });
  const tools = [calculator as Tool, wordCount as Tool, ...extra].map(counting);
  return { runs, tools: createToolRegistry(tools) };
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

/** One provider: a server, an agent on it, and a first turn that calls word_count and calculator. */
interface Provider {
  name: string;
  start(): Promise<FakeLlmServer>;
  agent(server: FakeLlmServer, tools: ReturnType<typeof countingTools>["tools"]): Agent;
  /** Turn 1: some text (and reasoning), then call_1 = word_count, call_2 = calculator. */
  toolTurn(): FakeReply;
  answer(): FakeReply;
  input: Record<string, unknown>;
}

const PROVIDERS: Provider[] = [
  {
    name: "OpenAI chat completions",
    start: () => startFakeOpenAiServer(),
    agent: (server, tools) =>
      createOpenAiAgent(config({ openai: { model: "gpt-4.1-mini", baseUrl: `${server.url}/v1` } }), {
        tools,
      }),
    toolTurn: () => ({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .text("Let me count.")
        .toolCall(0, "call_1", "word_count")
        .toolArgs(0, '{"text":"a b c"}')
        .toolCall(1, "call_2", "calculator")
        .toolArgs(1, '{"expression":"6*7"}')
        .finish("tool_calls")
        .usage(30, 20)
        .done()
        .frames(),
    }),
    answer: () => openAiTextReply(["Three ", "words; 42."], { promptTokens: 60 }),
    input: { prompt: "Count 'a b c' and compute 6*7." },
  },
  {
    name: "OpenAI Responses API with reasoning",
    start: () => startFakeOpenAiServer(),
    agent: (server, tools) =>
      createOpenAiAgent(
        config({
          openai: { apiKey: "sk-test", model: "o4-mini", baseUrl: `${server.url}/v1`, api: "responses" },
        }),
        { tools },
      ),
    toolTurn: () =>
      new OpenAiResponsesStream()
        .created()
        .reasoning("rs_1", "Two tools.")
        .functionCall("fc_1", "call_1", "word_count", '{"text":"a b c"}')
        .functionCall("fc_2", "call_2", "calculator", '{"expression":"6*7"}')
        .completed(30, 20, 5)
        .reply(),
    answer: () =>
      new OpenAiResponsesStream().created().message("msg_1", "Three ", "words; 42.").completed(60, 3).reply(),
    input: { prompt: "Count 'a b c' and compute 6*7.", reasoning: {} },
  },
  {
    name: "Anthropic with extended thinking",
    start: () => startFakeAnthropicServer(),
    agent: (server, tools) =>
      createAnthropicAgent(
        config({ anthropic: { apiKey: "sk-ant-test", model: "claude-sonnet-4-6", baseUrl: server.url } }),
        { tools },
      ),
    toolTurn: () => ({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(30)
        .thinkingBlock(0, "Two tools.")
        .textBlock(1, "Let me count.")
        .toolUseBlock(2, "call_1", "word_count", '{"text":"a b c"}')
        .toolUseBlock(3, "call_2", "calculator", '{"expression":"6*7"}')
        .messageDelta("tool_use", 20)
        .messageStop()
        .frames(),
    }),
    answer: () => anthropicTextReply(["Three ", "words; 42."], { inputTokens: 60 }),
    input: { prompt: "Count 'a b c' and compute 6*7.", reasoning: { budgetTokens: 1024 } },
  },
];

const toolEvents = (events: AgentEvent[]) =>
  events.filter((e) => e.type === "delta" && ["tool_call", "tool_result"].includes(e.content.kind));

describe("LLM agents resume after their last checkpoint", () => {
  it.each(PROVIDERS)(
    "$name: killed after the tools ran, the retry asks only for the answer — the same conversation, no tool again",
    async (provider) => {
      // The uninterrupted run: what the model is sent for the answer.
      const reference = await provider.start();
      servers.push(reference);
      reference.enqueue(provider.toolTurn(), provider.answer());
      const whole = await driveAgent(provider.agent(reference, countingTools().tools), provider.input);
      expect(whole.error).toBeUndefined();
      expect(reference.requests).toHaveLength(2);

      const server = await provider.start();
      servers.push(server);
      server.enqueue(provider.toolTurn(), provider.answer());
      const { runs, tools } = countingTools();
      const agent = provider.agent(server, tools);
      // Checkpoints: 1 = the turn that called the tools, 2 and 3 = their results. The worker dies after 3.
      const first = await driveAgent(agent, provider.input, { stopAfterCheckpoint: 3 });
      expect(first.checkpoints.map((c) => c.step)).toEqual([1, 2, 3]);
      expect(first.events.filter((e) => e.type === "delta" && e.content.kind === "tool_result")).toHaveLength(
        2,
      );
      expect(runs).toEqual({ word_count: 1, calculator: 1 });

      const retry = await driveAgent(agent, provider.input, { attempt: 2, resume: first.checkpoints.at(-1) });
      expect(retry.error).toBeUndefined();
      expect(runs).toEqual({ word_count: 1, calculator: 1 });
      expect(toolEvents(retry.events)).toEqual([]);
      expect(retry.events[0]).toEqual({
        type: "status",
        content: { state: "running", attempt: 2, step: 2, total: 5 },
      });
      // The answer turn is sent exactly what the uninterrupted run sent (tool calls, results, reasoning
      // and its signature or item ids included), and the turn that called the tools is not asked again.
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1]?.body).toEqual(reference.requests[1]?.body);
      // Usage and the answer as if nothing had happened.
      expect(retry.events.at(-1)).toEqual(whole.events.at(-1));
      expect(retry.progress.map((p) => p.content)).toEqual([whole.progress.at(-1)?.content]);
    },
  );

  it("killed between two tool results: the retry runs only the tool still in flight, then asks for the answer", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Waits for `release` (or the run's abort): the first attempt dies while it runs.
    const slow = defineTool({
      name: "slow_lookup",
      description: "Looks something up, slowly.",
      inputSchema: z.object({ key: z.string() }),
      run: (args, { signal }) =>
        new Promise((resolve) => {
          void released.then(() => resolve({ key: args.key, value: "found" }));
          signal.addEventListener("abort", () => resolve({ aborted: true }), { once: true });
        }),
    });
    const server = await startFakeOpenAiServer();
    servers.push(server);
    server.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream()
          .role()
          .toolCall(0, "call_1", "word_count")
          .toolArgs(0, '{"text":"a b"}')
          .toolCall(1, "call_2", "slow_lookup")
          .toolArgs(1, '{"key":"k"}')
          .finish("tool_calls")
          .usage(10, 10)
          .done()
          .frames(),
      },
      openAiTextReply(["Two words, found."]),
    );
    const { runs, tools } = countingTools([slow as Tool]);
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), { tools });
    const first = await driveAgent(agent, { prompt: "go" }, { stopAfterCheckpoint: 2 });
    expect(first.checkpoints.map((c) => c.step)).toEqual([1, 2]);
    expect(runs).toEqual({ word_count: 1, slow_lookup: 1 });

    release();
    const retry = await driveAgent(agent, { prompt: "go" }, { attempt: 2, resume: first.checkpoints.at(-1) });
    expect(retry.error).toBeUndefined();
    // word_count's result was checkpointed: it does not run again. slow_lookup was in flight: redone.
    expect(runs).toEqual({ word_count: 1, slow_lookup: 2 });
    expect(toolEvents(retry.events)).toEqual([
      {
        type: "delta",
        content: {
          kind: "tool_result",
          toolCallId: "call_2",
          name: "slow_lookup",
          result: { key: "k", value: "found" },
        },
      },
    ]);
    expect(retry.checkpoints.map((c) => c.step)).toEqual([3]);
    expect(server.requests).toHaveLength(2);
    const sent = (server.requests[1]!.body as { messages: { role: string; tool_call_id?: string }[] })
      .messages;
    expect(sent.filter((m) => m.role === "tool").map((m) => m.tool_call_id)).toEqual(["call_1", "call_2"]);
    expect(retry.events.at(-1)).toMatchObject({
      type: "done",
      content: { finishReason: "stop", output: { text: "Two words, found.", steps: 2 } },
    });
  });

  it("killed before the last allowed turn's tools ran: the retry runs them and ends out of steps, asking the model nothing", async () => {
    const server = await startFakeOpenAiServer();
    servers.push(server);
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .toolCall(0, "call_1", "calculator")
        .toolArgs(0, '{"expression":"1+1"}')
        .finish("tool_calls")
        .usage(5, 5)
        .done()
        .frames(),
    });
    const { runs, tools } = countingTools();
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), { tools });
    const input = { prompt: "loop", maxSteps: 1 };
    const first = await driveAgent(agent, input, { stopAfterCheckpoint: 1 });
    expect(runs).toEqual({});

    const retry = await driveAgent(agent, input, { attempt: 2, resume: first.checkpoints.at(-1) });
    expect(runs).toEqual({ calculator: 1 });
    expect(server.requests).toHaveLength(1);
    expect(retry.events).toEqual([
      {
        type: "delta",
        content: {
          kind: "tool_result",
          toolCallId: "call_1",
          name: "calculator",
          result: { expression: "1+1", result: 2 },
        },
      },
      {
        type: "done",
        content: {
          finishReason: "length",
          stopReason: "max_steps",
          usage: { inputTokens: 5, outputTokens: 5 },
          output: { text: "", model: "m", steps: 1 },
        },
      },
    ]);
  });

  it("a checkpoint whose state is not a conversation is not trusted: the attempt starts over and says so", async () => {
    const server = await startFakeOpenAiServer();
    servers.push(server);
    const { tools } = countingTools();
    const agent = createOpenAiAgent(config({ openai: { model: "m", baseUrl: server.baseUrl } }), { tools });
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const retry = await driveAgent(
      agent,
      { prompt: "hi" },
      { attempt: 2, resume: { step: 2, state: { turns: "two", messages: [{ role: "robot" }] } }, log },
    );
    expect(retry.error).toBeUndefined();
    expect(retry.events[0]).toMatchObject({ type: "status", content: { step: 1 } });
    expect(server.requests[0]?.body).toMatchObject({ messages: [{ role: "user", content: "hi" }] });
    expect(lines.join("")).toContain("starting over");
  });
});
