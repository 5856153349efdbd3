import {
  type FakeLlmServer,
  OpenAiStream,
  openAiErrorReply,
  openAiTextReply,
  startFakeOpenAiServer,
} from "@threadline/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import { AgentError, type AgentEvent } from "../types.js";
import type { LlmConfig } from "./llm-config.js";
import { createOpenAiAgent } from "./openai-agent.js";
import { driveWireEvents as driveAgent } from "./test-support/drive-agent.js";

const tools = createToolRegistry(defaultTools());
const MODEL = "gpt-4.1-mini";

let server: FakeLlmServer & { baseUrl: string };
beforeEach(async () => {
  server = await startFakeOpenAiServer();
});
afterEach(async () => {
  await server.close();
});

function config(overrides: Partial<LlmConfig["openai"]> = {}, extra: Partial<LlmConfig> = {}): LlmConfig {
  return {
    anthropic: { model: "claude-sonnet-4-6" },
    openai: { apiKey: "sk-test", model: MODEL, baseUrl: server.baseUrl, ...overrides },
    maxSteps: 4,
    prices: {},
    ...extra,
  };
}

const tok = (content: string): AgentEvent => ({ type: "token", content });
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

/** The JSON body of the `n`th request the fake server received. */
function bodyOf(n: number): Record<string, unknown> {
  const body = server.requests[n]?.body;
  if (!body || typeof body !== "object") throw new Error(`request ${n} had no JSON body`);
  return body as Record<string, unknown>;
}

function errorOf(outcome: { error?: unknown }): AgentError {
  expect(outcome.error).toBeInstanceOf(AgentError);
  return outcome.error as AgentError;
}

describe("openai agent (real SDK against a fake chat.completions server)", () => {
  it("streams plain text as tokens, then done with usage and cost from the price table", async () => {
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .text("Hel", "lo", " world")
        .finish("stop")
        .usage(12, 3)
        .done()
        .frames(),
    });
    const prices = { [MODEL]: { input: 0.4, output: 1.6 } };
    const agent = createOpenAiAgent(config({}, { prices }), { tools });
    const { events, error } = await driveAgent(agent, { prompt: "Say hello", system: "Be brief" });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      tok("Hel"),
      tok("lo"),
      tok(" world"),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "stop",
          usage: { inputTokens: 12, outputTokens: 3 },
          cost: { usd: 0.0000096 },
          output: { text: "Hello world", model: MODEL, steps: 1 },
        },
      },
    ]);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.path).toBe("/v1/chat/completions");
    expect(request?.headers.authorization).toBe("Bearer sk-test");
    expect(request?.body).toMatchObject({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Say hello" },
      ],
    });
    const sentTools = bodyOf(0).tools as { function: { name: string; parameters: unknown } }[];
    expect(sentTools.map((t) => t.function.name)).toEqual(["calculator", "word_count"]);
    expect(sentTools[0]?.function.parameters).toMatchObject({
      type: "object",
      properties: { expression: { type: "string" } },
      required: ["expression"],
    });
  });

  it("streams a tool call's JSON arguments split across many chunks, runs the tool, then answers", async () => {
    const fragments = ['{"', "expr", 'ession"', ': "', "6 ", "* ", "7", '"}'];
    server.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream()
          .role()
          .toolCall(0, "call_abc", "calculator")
          .toolArgs(0, ...fragments)
          .finish("tool_calls")
          .usage(50, 9)
          .done()
          .frames(),
      },
      {
        kind: "sse",
        frames: new OpenAiStream().role().text("It is ", "42.").finish("stop").usage(70, 4).done().frames(),
      },
    );
    const { events, error } = await driveAgent(createOpenAiAgent(config(), { tools }), {
      prompt: "6 times 7?",
    });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      ...fragments.map((f) => argsDelta("call_abc", "calculator", f)),
      call("call_abc", "calculator", { expression: "6 * 7" }),
      result("call_abc", "calculator", { expression: "6 * 7", result: 42 }),
      tok("It is "),
      tok("42."),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "stop",
          usage: { inputTokens: 120, outputTokens: 13 },
          output: { text: "It is 42.", model: MODEL, steps: 2 },
        },
      },
    ]);
    // The second request carries the assistant's tool call and the tool's result back to the model.
    expect(bodyOf(1).messages).toEqual([
      { role: "user", content: "6 times 7?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_abc",
            type: "function",
            function: { name: "calculator", arguments: '{"expression":"6 * 7"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_abc", content: '{"expression":"6 * 7","result":42}' },
    ]);
  });

  it("handles two tool calls in one turn, in index order", async () => {
    server.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream()
          .role()
          .text("Let me check.")
          .toolCall(0, "call_1", "word_count")
          .toolArgs(0, '{"text":', ' "a b c"}')
          .toolCall(1, "call_2", "calculator")
          .toolArgs(1, '{"expression"', ': "2+2"}')
          .finish("tool_calls")
          .usage(30, 20)
          .done()
          .frames(),
      },
      openAiTextReply(["3 words; 4."], { promptTokens: 60 }),
    );
    const { events, error } = await driveAgent(createOpenAiAgent(config(), { tools }), {
      prompt: "count and add",
    });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      tok("Let me check."),
      argsDelta("call_1", "word_count", '{"text":'),
      argsDelta("call_1", "word_count", ' "a b c"}'),
      argsDelta("call_2", "calculator", '{"expression"'),
      argsDelta("call_2", "calculator", ': "2+2"}'),
      call("call_1", "word_count", { text: "a b c" }),
      call("call_2", "calculator", { expression: "2+2" }),
      result("call_1", "word_count", { words: 3, characters: 5, lines: 1 }),
      result("call_2", "calculator", { expression: "2+2", result: 4 }),
      tok("3 words; 4."),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "stop",
          usage: { inputTokens: 90, outputTokens: 21 },
          output: { text: "3 words; 4.", model: MODEL, steps: 2 },
        },
      },
    ]);
    const messages = bodyOf(1).messages as { role: string; tool_call_id?: string }[];
    expect(messages.filter((m) => m.role === "tool").map((m) => m.tool_call_id)).toEqual([
      "call_1",
      "call_2",
    ]);
  });

  it("a 429 fails the attempt as retryable with retry-after (no SDK retry), and the next attempt succeeds", async () => {
    server.enqueue(
      openAiErrorReply(429, "Rate limit reached for requests. Please try again in 2s.", {
        type: "requests",
        code: "rate_limit_exceeded",
        headers: { "retry-after": "2" },
      }),
      openAiTextReply(["fine"]),
    );
    const agent = createOpenAiAgent(config(), { tools });
    const first = await driveAgent(agent, { prompt: "hi" });
    expect(first.events).toEqual([]);
    const error = errorOf(first);
    expect(error).toMatchObject({ code: "PROVIDER_RATE_LIMITED", retryable: true, retryAfterMs: 2000 });
    expect(error.message).toContain("answered 429: Rate limit reached");
    expect(server.requests).toHaveLength(1);

    const second = await driveAgent(agent, { prompt: "hi" }, { attempt: 2 });
    expect(second.error).toBeUndefined();
    expect(second.events.map((e) => e.type)).toEqual(["token", "done"]);
    expect(server.requests).toHaveLength(2);
  });

  it("an error object mid-stream (a 500 after the 200) is retryable, after the tokens already sent", async () => {
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream()
        .role()
        .text("Hal")
        .error("The server had an error while processing your request. Sorry about that!")
        .frames(),
    });
    const outcome = await driveAgent(createOpenAiAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([tok("Hal")]);
    expect(errorOf(outcome)).toMatchObject({ code: "PROVIDER_STREAM_ERROR", retryable: true });
    expect(errorOf(outcome).message).toContain("(server_error): The server had an error");
  });

  it("a connection cut mid-stream is retryable", async () => {
    server.enqueue({
      kind: "sse",
      frames: new OpenAiStream().role().text("Hal", "f").frames(),
      after: "destroy",
    });
    const outcome = await driveAgent(createOpenAiAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([tok("Hal"), tok("f")]);
    expect(errorOf(outcome)).toMatchObject({ code: "PROVIDER_DISCONNECTED", retryable: true });
  });

  it("a stream that ends cleanly without finish_reason is a retryable disconnect", async () => {
    server.enqueue({ kind: "sse", frames: new OpenAiStream().role().text("Hal").frames() });
    const outcome = await driveAgent(createOpenAiAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([tok("Hal")]);
    expect(errorOf(outcome)).toMatchObject({ code: "PROVIDER_DISCONNECTED", retryable: true });
    expect(errorOf(outcome).message).toContain("without a finish reason");
  });

  it.each([
    [500, "PROVIDER_UNAVAILABLE", true, "server_error"],
    [503, "PROVIDER_UNAVAILABLE", true, "server_error"],
    [401, "PROVIDER_AUTH_FAILED", false, "invalid_request_error"],
    [403, "PROVIDER_FORBIDDEN", false, "invalid_request_error"],
    [400, "PROVIDER_BAD_REQUEST", false, "invalid_request_error"],
    [404, "PROVIDER_BAD_REQUEST", false, "invalid_request_error"],
  ])("HTTP %i before the stream → %s (retryable: %s)", async (status, code, retryable, type) => {
    server.enqueue(openAiErrorReply(status, `status ${status} from the fake`, { type }));
    const outcome = await driveAgent(createOpenAiAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([]);
    const error = errorOf(outcome);
    expect(error).toMatchObject({ code, retryable });
    expect(error.message).toContain(`answered ${status}: status ${status} from the fake`);
    if (status === 401) expect(error.message).toContain("check OPENAI_API_KEY");
    expect(server.requests).toHaveLength(1);
  });

  it("an unreachable server is retryable and names OPENAI_BASE_URL", async () => {
    const baseUrl = server.baseUrl;
    await server.close();
    const agent = createOpenAiAgent(config({ baseUrl }), { tools });
    const outcome = await driveAgent(agent, { prompt: "hi" });
    expect(errorOf(outcome)).toMatchObject({ code: "PROVIDER_UNREACHABLE", retryable: true });
    expect(errorOf(outcome).message).toContain("check OPENAI_BASE_URL");
    server = await startFakeOpenAiServer();
  });

  it("abort mid-stream closes the HTTP stream and yields no token after the abort", async () => {
    const pieces = Array.from({ length: 60 }, (_, i) => `t${i} `);
    const reply = openAiTextReply(pieces, { frameDelayMs: 5 });
    server.enqueue(reply);
    const controller = new AbortController();
    let seenAtAbort = -1;
    const outcome = await driveAgent(
      createOpenAiAgent(config(), { tools }),
      { prompt: "count" },
      {
        signal: controller.signal,
        onEvent: (_event, index) => {
          // Index 3: the step's `status`, then three tokens.
          if (index === 3) {
            seenAtAbort = index;
            controller.abort();
          }
        },
      },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual([tok("t0 "), tok("t1 "), tok("t2 ")]);
    expect(outcome.events).toHaveLength(seenAtAbort);
    const response = server.responses[0];
    await expect(response?.closed).resolves.toEqual({ early: true });
    expect(response?.framesWritten).toBeLessThan(reply.kind === "sse" ? reply.frames.length : 0);
  });

  it("an unknown tool or arguments that are not JSON go back to the model as error results", async () => {
    server.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream()
          .role()
          .toolCall(0, "call_x", "weather")
          .toolArgs(0, '{"city":"Oslo"}')
          .toolCall(1, "call_y", "calculator")
          .toolArgs(1, '{"expression": "1+')
          .finish("tool_calls")
          .usage(5, 5)
          .done()
          .frames(),
      },
      openAiTextReply(["Sorry."]),
    );
    const { events, error } = await driveAgent(createOpenAiAgent(config(), { tools }), {
      prompt: "weather?",
    });
    expect(error).toBeUndefined();
    const deltas = events.filter((e) => e.type === "delta").map((e) => e.content);
    // The SDK checks each call as it completes and hands both failures back to the model.
    expect(deltas.filter((d) => !("argsDelta" in d))).toEqual([
      {
        kind: "tool_call",
        toolCallId: "call_x",
        name: "weather",
        error: "Model tried to call unavailable tool 'weather'. Available tools: calculator, word_count.",
      },
      {
        kind: "tool_result",
        toolCallId: "call_x",
        name: "weather",
        result: { error: expect.stringContaining("unavailable tool 'weather'") },
        isError: true,
      },
      {
        kind: "tool_call",
        toolCallId: "call_y",
        name: "calculator",
        error: expect.stringContaining("JSON parsing failed"),
      },
      {
        kind: "tool_result",
        toolCallId: "call_y",
        name: "calculator",
        result: { error: expect.stringContaining("JSON parsing failed") },
        isError: true,
      },
    ]);
    const toolMessages = (bodyOf(1).messages as { role: string; content: string }[]).filter(
      (m) => m.role === "tool",
    );
    expect(toolMessages.map((m) => m.content)).toEqual([
      expect.stringContaining("unavailable tool 'weather'"),
      expect.stringContaining("JSON parsing failed"),
    ]);
    expect(events.at(-1)).toMatchObject({ type: "done", content: { finishReason: "stop" } });
  });

  it("stops with finishReason length when maxSteps run out while the model still calls tools", async () => {
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
    const { events } = await driveAgent(createOpenAiAgent(config(), { tools }), {
      prompt: "loop",
      maxSteps: 1,
    });
    expect(events.at(-1)).toEqual({
      type: "done",
      content: {
        finishReason: "length",
        stopReason: "max_steps",
        usage: { inputTokens: 5, outputTokens: 5 },
        output: { text: "", model: MODEL, steps: 1 },
      },
    });
    expect(server.requests).toHaveLength(1);
  });

  it("is unavailable without a key or base URL, and works keyless against a local base URL", async () => {
    const none = createOpenAiAgent(config({ apiKey: undefined, baseUrl: undefined }), { tools });
    expect(none.unavailableReason).toMatch(/^set OPENAI_API_KEY, or OPENAI_BASE_URL/);
    const refused = await driveAgent(none, { prompt: "hi" });
    expect(errorOf(refused)).toMatchObject({ code: "AGENT_UNAVAILABLE", retryable: false });

    const local = createOpenAiAgent(config({ apiKey: undefined }), { tools });
    expect(local.unavailableReason).toBeUndefined();
    const { error } = await driveAgent(local, { prompt: "hi", model: "llama3.2", maxTokens: 64 });
    expect(error).toBeUndefined();
    // A local server needs no key, so none is sent (not even a placeholder).
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(server.requests[0]?.body).toMatchObject({ model: "llama3.2", max_tokens: 64 });
  });

  it("takes a local server's whole tool call in one chunk, without id, ended by finish_reason stop", async () => {
    server.enqueue(
      {
        kind: "sse",
        frames: [
          `data: ${JSON.stringify({
            id: "chatcmpl-1",
            object: "chat.completion.chunk",
            created: 1,
            model: "llama3.2",
            choices: [
              {
                index: 0,
                delta: {
                  role: "assistant",
                  content: "",
                  tool_calls: [
                    {
                      index: 0,
                      type: "function",
                      function: { name: "calculator", arguments: '{"expression":"2^10"}' },
                    },
                  ],
                },
                finish_reason: null,
              },
            ],
          })}\n\n`,
          `data: ${JSON.stringify({
            id: "chatcmpl-1",
            object: "chat.completion.chunk",
            created: 1,
            model: "llama3.2",
            choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }],
          })}\n\n`,
          "data: [DONE]\n\n",
        ],
      },
      openAiTextReply(["1024"]),
    );
    const { events, error } = await driveAgent(createOpenAiAgent(config({ apiKey: undefined }), { tools }), {
      prompt: "2^10?",
    });
    expect(error).toBeUndefined();
    // The server sent no id: the SDK makes one up, and uses it for the call, its result and the next request.
    const id = (events[0]!.content as unknown as { toolCallId: string }).toolCallId;
    expect(id).toMatch(/^\w{8,}$/);
    expect(events.slice(0, 3)).toEqual([
      argsDelta(id, "calculator", '{"expression":"2^10"}'),
      call(id, "calculator", { expression: "2^10" }),
      result(id, "calculator", { expression: "2^10", result: 1024 }),
    ]);
    expect(bodyOf(1).messages).toContainEqual({
      role: "tool",
      tool_call_id: id,
      content: '{"expression":"2^10","result":1024}',
    });
  });
});
