import {
  AnthropicStream,
  anthropicErrorReply,
  anthropicTextReply,
  type FakeLlmServer,
  startFakeAnthropicServer,
} from "@threadline/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import { AgentError, type AgentEvent } from "../types.js";
import { createAnthropicAgent } from "./anthropic-agent.js";
import type { LlmConfig } from "./llm-config.js";
import { driveWireEvents as driveAgent } from "./test-support/drive-agent.js";

const tools = createToolRegistry(defaultTools());
const MODEL = "claude-sonnet-4-6";

let server: FakeLlmServer;
beforeEach(async () => {
  server = await startFakeAnthropicServer();
});
afterEach(async () => {
  await server.close();
});

function config(overrides: Partial<LlmConfig["anthropic"]> = {}, extra: Partial<LlmConfig> = {}): LlmConfig {
  return {
    anthropic: { apiKey: "sk-ant-test", model: MODEL, baseUrl: server.url, ...overrides },
    openai: { model: "gpt-4.1-mini" },
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

function bodyOf(n: number): Record<string, unknown> {
  const body = server.requests[n]?.body;
  if (!body || typeof body !== "object") throw new Error(`request ${n} had no JSON body`);
  return body as Record<string, unknown>;
}

function errorOf(outcome: { error?: unknown }): AgentError {
  expect(outcome.error).toBeInstanceOf(AgentError);
  return outcome.error as AgentError;
}

describe("anthropic agent (real SDK against a fake Messages API)", () => {
  it("streams plain text as tokens (ping ignored), then done with usage and cost", async () => {
    server.enqueue({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(25)
        .ping()
        .textBlock(0, "Hello", "!", " How can I help?")
        .messageDelta("end_turn", 15)
        .messageStop()
        .frames(),
    });
    const prices = { [MODEL]: { input: 3, output: 15 } };
    const agent = createAnthropicAgent(config({}, { prices }), { tools });
    const { events, error } = await driveAgent(agent, { prompt: "Hello", system: "Be kind", maxTokens: 256 });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      tok("Hello"),
      tok("!"),
      tok(" How can I help?"),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "end_turn",
          usage: { inputTokens: 25, outputTokens: 15 },
          cost: { usd: 0.0003 },
          output: { text: "Hello! How can I help?", model: MODEL, steps: 1 },
        },
      },
    ]);
    const [request] = server.requests;
    expect(request?.path).toBe("/v1/messages");
    expect(request?.headers["x-api-key"]).toBe("sk-ant-test");
    expect(request?.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(request?.body).toMatchObject({
      model: MODEL,
      max_tokens: 256,
      stream: true,
      system: [{ type: "text", text: "Be kind" }],
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
    });
    const sent = bodyOf(0).tools as { name: string; input_schema: unknown }[];
    expect(sent.map((t) => t.name)).toEqual(["calculator", "word_count"]);
    expect(sent[1]?.input_schema).toMatchObject({ type: "object", properties: { text: { type: "string" } } });
  });

  it("streams a tool_use block's input_json_delta fragments, runs the tool, then answers", async () => {
    const fragments = ['{"expr', "ession", '": "(1', "2 + 30)", " * 2", '"}'];
    server.enqueue(
      {
        kind: "sse",
        frames: new AnthropicStream()
          .messageStart(100)
          .textBlock(0, "Computing.")
          .toolUseBlock(1, "toolu_01A", "calculator", ...fragments)
          .messageDelta("tool_use", 40)
          .messageStop()
          .frames(),
      },
      anthropicTextReply(["It is ", "84."], { inputTokens: 150 }),
    );
    const { events, error } = await driveAgent(createAnthropicAgent(config(), { tools }), {
      prompt: "(12+30)*2?",
    });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      tok("Computing."),
      ...fragments.map((f) => argsDelta("toolu_01A", "calculator", f)),
      call("toolu_01A", "calculator", { expression: "(12 + 30) * 2" }),
      result("toolu_01A", "calculator", { expression: "(12 + 30) * 2", result: 84 }),
      tok("It is "),
      tok("84."),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "end_turn",
          usage: { inputTokens: 250, outputTokens: 42 },
          output: { text: "It is 84.", model: MODEL, steps: 2 },
        },
      },
    ]);
    expect(bodyOf(1).messages).toMatchObject([
      { role: "user", content: [{ type: "text", text: "(12+30)*2?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Computing." },
          { type: "tool_use", id: "toolu_01A", name: "calculator", input: { expression: "(12 + 30) * 2" } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_01A",
            content: '{"expression":"(12 + 30) * 2","result":84}',
          },
        ],
      },
    ]);
  });

  it("handles two tool_use blocks in one turn", async () => {
    server.enqueue(
      {
        kind: "sse",
        frames: new AnthropicStream()
          .messageStart(30)
          .toolUseBlock(0, "toolu_1", "word_count", '{"text": ', '"one two"}')
          .toolUseBlock(1, "toolu_2", "calculator", '{"expression":', ' "10/4"}')
          .messageDelta("tool_use", 60)
          .messageStop()
          .frames(),
      },
      anthropicTextReply(["2 words, 2.5"], { inputTokens: 90 }),
    );
    const { events, error } = await driveAgent(createAnthropicAgent(config(), { tools }), { prompt: "both" });

    expect(error).toBeUndefined();
    expect(events).toEqual([
      argsDelta("toolu_1", "word_count", '{"text": '),
      argsDelta("toolu_1", "word_count", '"one two"}'),
      call("toolu_1", "word_count", { text: "one two" }),
      argsDelta("toolu_2", "calculator", '{"expression":'),
      argsDelta("toolu_2", "calculator", ' "10/4"}'),
      call("toolu_2", "calculator", { expression: "10/4" }),
      result("toolu_1", "word_count", { words: 2, characters: 7, lines: 1 }),
      result("toolu_2", "calculator", { expression: "10/4", result: 2.5 }),
      tok("2 words, 2.5"),
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "end_turn",
          usage: { inputTokens: 120, outputTokens: 61 },
          output: { text: "2 words, 2.5", model: MODEL, steps: 2 },
        },
      },
    ]);
    const toolResults = (bodyOf(1).messages as { content: { tool_use_id?: string }[] }[])[2]?.content;
    expect(toolResults?.map((c) => c.tool_use_id)).toEqual(["toolu_1", "toolu_2"]);
  });

  it("a 429 fails the attempt as retryable with retry-after (no SDK retry), and the next attempt succeeds", async () => {
    server.enqueue(
      anthropicErrorReply(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        {
          "retry-after": "7",
        },
      ),
      anthropicTextReply(["ok"]),
    );
    const agent = createAnthropicAgent(config(), { tools });
    const first = await driveAgent(agent, { prompt: "hi" });
    expect(first.events).toEqual([]);
    expect(errorOf(first)).toMatchObject({
      code: "PROVIDER_RATE_LIMITED",
      retryable: true,
      retryAfterMs: 7000,
    });
    expect(errorOf(first).message).toContain("answered 429: Number of request tokens");
    expect(server.requests).toHaveLength(1);

    const second = await driveAgent(agent, { prompt: "hi" }, { attempt: 2 });
    expect(second.error).toBeUndefined();
    expect(second.events.map((e) => e.type)).toEqual(["token", "done"]);
  });

  it("an error event mid-stream (api_error, the 500 after the 200) is retryable, after the tokens already sent", async () => {
    server.enqueue({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(10)
        .textBlock(0, "Par", "tial")
        .error("api_error", "Internal server error")
        .frames(),
    });
    const outcome = await driveAgent(createAnthropicAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([tok("Par"), tok("tial")]);
    expect(errorOf(outcome)).toMatchObject({ code: "PROVIDER_STREAM_ERROR", retryable: true });
    expect(errorOf(outcome).message).toContain("(api_error): Internal server error");
  });

  it("an overloaded_error mid-stream is retryable; an invalid_request_error mid-stream is not", async () => {
    server.enqueue(
      {
        kind: "sse",
        frames: new AnthropicStream().messageStart(1).error("overloaded_error", "Overloaded").frames(),
      },
      {
        kind: "sse",
        frames: new AnthropicStream().messageStart(1).error("invalid_request_error", "bad").frames(),
      },
    );
    const agent = createAnthropicAgent(config(), { tools });
    expect(errorOf(await driveAgent(agent, { prompt: "a" }))).toMatchObject({ retryable: true });
    expect(errorOf(await driveAgent(agent, { prompt: "b" }))).toMatchObject({ retryable: false });
  });

  it("a connection cut mid-stream, or a stream without message_stop, is a retryable disconnect", async () => {
    const head = new AnthropicStream().messageStart(10).ping().textBlock(0, "Hal").frames();
    server.enqueue({ kind: "sse", frames: head, after: "destroy" }, { kind: "sse", frames: head });
    const agent = createAnthropicAgent(config(), { tools });
    const cut = await driveAgent(agent, { prompt: "hi" });
    expect(cut.events).toEqual([tok("Hal")]);
    expect(errorOf(cut)).toMatchObject({ code: "PROVIDER_DISCONNECTED", retryable: true });
    const ended = await driveAgent(agent, { prompt: "hi" });
    expect(ended.events).toEqual([tok("Hal")]);
    expect(errorOf(ended)).toMatchObject({ code: "PROVIDER_DISCONNECTED", retryable: true });
    expect(errorOf(ended).message).toContain("before the model finished");
  });

  it.each([
    [529, "overloaded_error", "PROVIDER_UNAVAILABLE", true],
    [500, "api_error", "PROVIDER_UNAVAILABLE", true],
    [401, "authentication_error", "PROVIDER_AUTH_FAILED", false],
    [403, "permission_error", "PROVIDER_FORBIDDEN", false],
    [400, "invalid_request_error", "PROVIDER_BAD_REQUEST", false],
  ])("HTTP %i (%s) before the stream → %s (retryable: %s)", async (status, type, code, retryable) => {
    server.enqueue(anthropicErrorReply(status, type, `fake ${type}`));
    const outcome = await driveAgent(createAnthropicAgent(config(), { tools }), { prompt: "hi" });
    expect(outcome.events).toEqual([]);
    expect(errorOf(outcome)).toMatchObject({ code, retryable });
    expect(errorOf(outcome).message).toContain(`answered ${status}: fake ${type}`);
    if (status === 401) expect(errorOf(outcome).message).toContain("check ANTHROPIC_API_KEY");
    expect(server.requests).toHaveLength(1);
  });

  it("abort mid-stream closes the HTTP stream and yields no token after the abort", async () => {
    const pieces = Array.from({ length: 60 }, (_, i) => `w${i} `);
    const frames = new AnthropicStream()
      .messageStart(5)
      .textBlock(0, ...pieces)
      .messageDelta("end_turn", 60)
      .messageStop()
      .frames();
    server.enqueue({ kind: "sse", frames, frameDelayMs: 5 });
    const controller = new AbortController();
    const outcome = await driveAgent(
      createAnthropicAgent(config(), { tools }),
      { prompt: "count" },
      // Index 3: the step's `status`, then three tokens.
      { signal: controller.signal, onEvent: (_event, index) => index === 3 && controller.abort() },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual([tok("w0 "), tok("w1 "), tok("w2 ")]);
    await expect(server.responses[0]?.closed).resolves.toEqual({ early: true });
    expect(server.responses[0]?.framesWritten).toBeLessThan(frames.length);
  });

  it("abort while a tool runs publishes no tool result and sends no next request", async () => {
    server.enqueue({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(5)
        .toolUseBlock(0, "toolu_9", "calculator", '{"expression":"1+1"}')
        .messageDelta("tool_use", 5)
        .messageStop()
        .frames(),
    });
    const controller = new AbortController();
    const outcome = await driveAgent(
      createAnthropicAgent(config(), { tools }),
      { prompt: "x" },
      {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "delta" && "args" in event.content) controller.abort();
        },
      },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.events.map((e) => e.type === "delta" && e.content.kind)).toEqual([
      "tool_call",
      "tool_call",
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it("max_tokens ends with finishReason length", async () => {
    server.enqueue({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(5)
        .textBlock(0, "Once upon")
        .messageDelta("max_tokens", 2)
        .messageStop()
        .frames(),
    });
    const { events } = await driveAgent(createAnthropicAgent(config(), { tools }), {
      prompt: "story",
      maxTokens: 2,
    });
    expect(events.at(-1)).toMatchObject({
      type: "done",
      content: { finishReason: "length", stopReason: "max_tokens" },
    });
  });

  it("is listed as unavailable without ANTHROPIC_API_KEY and refuses to run", async () => {
    const agent = createAnthropicAgent(config({ apiKey: undefined }), { tools });
    expect(agent.unavailableReason).toBe("set ANTHROPIC_API_KEY to use Claude");
    const outcome = await driveAgent(agent, { prompt: "hi" });
    expect(errorOf(outcome)).toMatchObject({ code: "AGENT_UNAVAILABLE", retryable: false });
    expect(server.requests).toHaveLength(0);
  });
});
