import Anthropic from "@anthropic-ai/sdk";
import type { ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { type AnthropicTurn, streamAnthropicTurn } from "./anthropic-turn.js";
import { defineLlmAgent } from "./define-llm-agent.js";
import { doneEvent } from "./done-event.js";
import type { LlmAgentDeps, LlmConfig } from "./llm-config.js";
import type { LlmInput } from "./llm-input.js";
import { type ProviderErrorSource, toAgentError } from "./provider-errors.js";
import { runToolCalls } from "./tool-calls.js";

const DEFAULT_MAX_TOKENS = 4096;

const ERRORS: ProviderErrorSource = {
  provider: "Anthropic",
  keyVar: "ANTHROPIC_API_KEY",
  modelVar: "ANTHROPIC_MODEL",
  baseUrlVar: "ANTHROPIC_BASE_URL",
  classes: { APIError: Anthropic.APIError, APIConnectionError: Anthropic.APIConnectionError },
};

/**
 * The `anthropic` agent: Claude through the Messages API, streaming, calling the registry's tools in a
 * loop until the model stops or `maxSteps` turns pass. Without ANTHROPIC_API_KEY it is listed as
 * unavailable (`unavailableReason`) instead of failing at start.
 */
export function createAnthropicAgent(config: LlmConfig, deps: LlmAgentDeps): Agent<LlmInput> {
  const { apiKey, model: defaultModel, baseUrl } = config.anthropic;
  // maxRetries 0: BullMQ is the one retry mechanism. A stream that breaks mid-way cannot be retried
  // by the SDK anyway, and two layers would multiply attempts (SDK × job) while hiding the waits from
  // watchers; the worker publishes `status retrying` and can honour AgentError.retryAfterMs instead.
  // baseURL is always explicit so the SDK never falls back to reading process.env itself.
  const client = apiKey
    ? new Anthropic({
        apiKey,
        baseURL: baseUrl ?? "https://api.anthropic.com",
        maxRetries: 0,
        logLevel: "off",
      })
    : undefined;
  return defineLlmAgent({
    name: "anthropic",
    description: `Claude (${defaultModel}) via the Anthropic Messages API, streaming, with local tools`,
    client,
    unavailableReason: "set ANTHROPIC_API_KEY to use Claude",
    run: (c, input, ctx) => runAnthropic(c, input, ctx, config, deps.tools),
  });
}

async function* runAnthropic(
  client: Anthropic,
  input: LlmInput,
  ctx: AgentContext,
  config: LlmConfig,
  registry: ToolRegistry,
): AsyncGenerator<AgentEvent> {
  const { signal } = ctx;
  const model = input.model ?? config.anthropic.model;
  const maxSteps = input.maxSteps ?? config.maxSteps;
  const tools: Anthropic.Tool[] = registry.schemas().map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema as Anthropic.Tool.InputSchema,
  }));
  const messages: Anthropic.MessageParam[] = [{ role: "user", content: input.prompt }];
  const usage = { inputTokens: 0, outputTokens: 0 };
  for (let step = 1; step <= maxSteps; step++) {
    let turn: AnthropicTurn | undefined;
    try {
      const stream = await client.messages.create(
        {
          model,
          max_tokens: input.maxTokens ?? DEFAULT_MAX_TOKENS,
          messages,
          stream: true,
          ...(input.system ? { system: input.system } : {}),
          ...(tools.length > 0 ? { tools } : {}),
        },
        { signal },
      );
      turn = yield* streamAnthropicTurn(stream, signal);
    } catch (error) {
      if (signal.aborted) return;
      throw toAgentError(error, ERRORS);
    }
    if (!turn) return;
    usage.inputTokens += turn.usage.inputTokens;
    usage.outputTokens += turn.usage.outputTokens;
    const stopReason = turn.stopReason ?? "end_turn";
    const summary = { usage, model, steps: step, text: turn.text };
    if (stopReason !== "tool_use" || turn.toolCalls.length === 0) {
      const finishReason = stopReason === "max_tokens" ? "length" : "stop";
      yield doneEvent({ ...summary, finishReason, stopReason }, config.prices);
      return;
    }
    messages.push({ role: "assistant", content: turn.content });
    const outcomes = yield* runToolCalls(turn.toolCalls, registry, signal);
    if (signal.aborted) return;
    messages.push({
      role: "user",
      content: outcomes.map((o) => ({
        type: "tool_result" as const,
        tool_use_id: o.call.id,
        content: o.content,
        ...(o.isError ? { is_error: true } : {}),
      })),
    });
    // Out of steps while the model still wants tools: the results are published, the answer is cut.
    if (step === maxSteps)
      yield doneEvent({ ...summary, finishReason: "length", stopReason: "max_steps" }, config.prices);
  }
}
