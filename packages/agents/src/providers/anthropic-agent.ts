import { createAnthropic } from "@ai-sdk/anthropic";
import { ERRORS } from "@threadline/protocol";
import { toModelMessages } from "../ai-sdk/chat-history.js";
import { createAiSdkAgent } from "../ai-sdk/create-ai-sdk-agent.js";
import { type Agent, AgentError } from "../types.js";
import type { LlmAgentDeps, LlmConfig } from "./llm-config.js";
import { DEFAULT_REASONING_BUDGET, LlmInput } from "./llm-input.js";
import type { ErrorSource } from "./provider-errors.js";

const DEFAULT_MAX_TOKENS = 4096;
const ANTHROPIC_URL = "https://api.anthropic.com";
const UNAVAILABLE = "set ANTHROPIC_API_KEY to use Claude";

const SOURCE: ErrorSource = {
  provider: "Anthropic",
  keyVar: "ANTHROPIC_API_KEY",
  modelVar: "ANTHROPIC_MODEL",
  baseUrlVar: "ANTHROPIC_BASE_URL",
};

/**
 * The `anthropic` agent: Claude through the Messages API via `@ai-sdk/anthropic`, streaming, calling
 * the registry's tools until the model stops or `maxSteps` turns pass; extended thinking on request.
 * Without ANTHROPIC_API_KEY it is listed as unavailable instead of failing at start.
 */
export function createAnthropicAgent(config: LlmConfig, deps: LlmAgentDeps): Agent<LlmInput> {
  const { apiKey, model: defaultModel, baseUrl } = config.anthropic;
  // baseURL is always explicit so the provider never falls back to reading process.env itself.
  const provider = apiKey
    ? createAnthropic({ apiKey, baseURL: `${baseUrl ?? ANTHROPIC_URL}/v1` })
    : undefined;
  return createAiSdkAgent({
    name: "anthropic",
    description: `Claude (${defaultModel}) via the Anthropic Messages API, streaming, with local tools`,
    ...(provider ? {} : { unavailableReason: UNAVAILABLE }),
    inputSchema: LlmInput,
    tools: deps.tools,
    prices: config.prices,
    errors: SOURCE,
    call(input, ctx) {
      if (!provider)
        throw new AgentError(
          ERRORS.AGENT_UNAVAILABLE.code,
          `agent "anthropic" is unavailable: ${UNAVAILABLE}`,
          false,
        );
      const modelName = input.model ?? defaultModel;
      const budgetTokens = input.reasoning
        ? (input.reasoning.budgetTokens ?? DEFAULT_REASONING_BUDGET)
        : undefined;
      return {
        model: provider(modelName),
        modelName,
        ...(input.system ? { system: input.system } : {}),
        messages: toModelMessages(input.prompt, input.messages ?? ctx.history),
        maxSteps: input.maxSteps ?? config.maxSteps,
        // Anthropic requires max_tokens; the provider adds the thinking budget on top of it.
        maxOutputTokens: input.maxTokens ?? DEFAULT_MAX_TOKENS,
        ...(budgetTokens
          ? { providerOptions: { anthropic: { thinking: { type: "enabled", budgetTokens } } } }
          : {}),
      };
    },
  });
}
