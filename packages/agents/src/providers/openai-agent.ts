import OpenAI from "openai";
import type { ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { defineLlmAgent } from "./define-llm-agent.js";
import { doneEvent } from "./done-event.js";
import type { LlmAgentDeps, LlmConfig } from "./llm-config.js";
import type { LlmInput } from "./llm-input.js";
import { type OpenAiTurn, streamOpenAiTurn } from "./openai-turn.js";
import { type ProviderErrorSource, toAgentError } from "./provider-errors.js";
import { runToolCalls } from "./tool-calls.js";

const OPENAI_URL = "https://api.openai.com/v1";
/** Sent when a local server needs no key: the SDK insists on one, servers like Ollama ignore it. */
const NO_KEY = "no-key";

const ERRORS: ProviderErrorSource = {
  provider: "OpenAI-compatible endpoint",
  keyVar: "OPENAI_API_KEY",
  modelVar: "OPENAI_MODEL",
  baseUrlVar: "OPENAI_BASE_URL",
  classes: { APIError: OpenAI.APIError, APIConnectionError: OpenAI.APIConnectionError },
};

/**
 * The `openai` agent: any chat.completions endpoint (OpenAI, or Ollama, vLLM, llama.cpp server via
 * OPENAI_BASE_URL), streaming, calling the registry's tools in a loop until the model stops or
 * `maxSteps` turns pass. Unavailable without OPENAI_API_KEY, unless OPENAI_BASE_URL names a server.
 */
export function createOpenAiAgent(config: LlmConfig, deps: LlmAgentDeps): Agent<LlmInput> {
  const { apiKey, model: defaultModel, baseUrl } = config.openai;
  const usable = Boolean(apiKey || baseUrl);
  // maxRetries 0: BullMQ is the one retry mechanism (see anthropic-agent.ts). Organization and
  // project are explicit so the SDK never reads process.env itself.
  const client = usable
    ? new OpenAI({
        apiKey: apiKey ?? NO_KEY,
        baseURL: baseUrl ?? OPENAI_URL,
        organization: null,
        project: null,
        maxRetries: 0,
        logLevel: "off",
      })
    : undefined;
  return defineLlmAgent({
    name: "openai",
    description: `${defaultModel} via ${baseUrl ?? "the OpenAI API"} (chat completions, streaming), with local tools`,
    client,
    unavailableReason:
      "set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server (Ollama, vLLM, llama.cpp)",
    run: (c, input, ctx) => runOpenAi(c, input, ctx, config, deps.tools),
  });
}

async function* runOpenAi(
  client: OpenAI,
  input: LlmInput,
  ctx: AgentContext,
  config: LlmConfig,
  registry: ToolRegistry,
): AsyncGenerator<AgentEvent> {
  const { signal } = ctx;
  const model = input.model ?? config.openai.model;
  const maxSteps = input.maxSteps ?? config.maxSteps;
  const tools: OpenAI.ChatCompletionTool[] = registry.schemas().map((t) => ({
    type: "function",
    function: { name: t.name, description: t.description, parameters: t.inputSchema },
  }));
  // OpenAI itself wants max_completion_tokens; local servers reliably understand max_tokens.
  const limit =
    input.maxTokens === undefined
      ? {}
      : config.openai.baseUrl
        ? { max_tokens: input.maxTokens }
        : { max_completion_tokens: input.maxTokens };
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    ...(input.system ? [{ role: "system" as const, content: input.system }] : []),
    { role: "user", content: input.prompt },
  ];
  const usage = { inputTokens: 0, outputTokens: 0 };
  for (let step = 1; step <= maxSteps; step++) {
    let turn: OpenAiTurn | undefined;
    try {
      const stream = await client.chat.completions.create(
        {
          model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...limit,
          ...(tools.length > 0 ? { tools } : {}),
        },
        { signal },
      );
      turn = yield* streamOpenAiTurn(stream, signal);
    } catch (error) {
      if (signal.aborted) return;
      throw toAgentError(error, ERRORS);
    }
    if (!turn) return;
    usage.inputTokens += turn.usage?.inputTokens ?? 0;
    usage.outputTokens += turn.usage?.outputTokens ?? 0;
    const summary = { usage, model, steps: step, text: turn.text };
    // Some local servers (older Ollama) end a tool-calling turn with `stop`: calls count unless cut off.
    if (
      turn.toolCalls.length === 0 ||
      turn.finishReason === "length" ||
      turn.finishReason === "content_filter"
    ) {
      const finishReason = turn.finishReason === "length" ? "length" : "stop";
      yield doneEvent({ ...summary, finishReason, stopReason: turn.finishReason }, config.prices);
      return;
    }
    messages.push({
      role: "assistant",
      content: turn.text || null,
      tool_calls: turn.toolCalls.map((c) => ({
        id: c.id,
        type: "function" as const,
        function: { name: c.name, arguments: c.argsError ? String(c.args) : JSON.stringify(c.args) },
      })),
    });
    const outcomes = yield* runToolCalls(turn.toolCalls, registry, signal);
    if (signal.aborted) return;
    for (const o of outcomes) messages.push({ role: "tool", tool_call_id: o.call.id, content: o.content });
    // Out of steps while the model still wants tools: the results are published, the answer is cut.
    if (step === maxSteps)
      yield doneEvent({ ...summary, finishReason: "length", stopReason: "max_steps" }, config.prices);
  }
}
