import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { ERRORS } from "@threadline/protocol";
import type { LanguageModel } from "ai";
import { toModelMessages } from "../ai-sdk/chat-history.js";
import { createAiSdkAgent } from "../ai-sdk/create-ai-sdk-agent.js";
import { type Agent, AgentError } from "../types.js";
import type { LlmAgentDeps, LlmConfig, LlmEndpoint } from "./llm-config.js";
import { LlmInput } from "./llm-input.js";
import type { ErrorSource } from "./provider-errors.js";

const OPENAI_URL = "https://api.openai.com/v1";
const UNAVAILABLE =
  "set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server (Ollama, vLLM, llama.cpp)";

const SOURCE: ErrorSource = {
  provider: "OpenAI-compatible endpoint",
  keyVar: "OPENAI_API_KEY",
  modelVar: "OPENAI_MODEL",
  baseUrlVar: "OPENAI_BASE_URL",
};

/**
 * The `openai` agent. OpenAI itself through the Responses API (`@ai-sdk/openai`: reasoning models
 * stream reasoning summaries); a server named by OPENAI_BASE_URL (Ollama, vLLM, llama.cpp) through
 * chat completions (`@ai-sdk/openai-compatible`, which also streams their `reasoning_content`).
 * OPENAI_API overrides the choice. Unavailable without OPENAI_API_KEY, unless OPENAI_BASE_URL names a server.
 */
export function createOpenAiAgent(config: LlmConfig, deps: LlmAgentDeps): Agent<LlmInput> {
  const { model: defaultModel, baseUrl } = config.openai;
  const api = openAiApi(config.openai);
  const models = config.openai.apiKey || baseUrl ? modelFactory(config.openai, api) : undefined;
  return createAiSdkAgent({
    name: "openai",
    description: `${defaultModel} via ${baseUrl ?? "the OpenAI API"} (${api === "chat" ? "chat completions" : "Responses API"}, streaming), with local tools`,
    ...(models ? {} : { unavailableReason: UNAVAILABLE }),
    inputSchema: LlmInput,
    tools: deps.tools,
    prices: config.prices,
    errors: SOURCE,
    call(input, ctx) {
      if (!models)
        throw new AgentError(
          ERRORS.AGENT_UNAVAILABLE.code,
          `agent "openai" is unavailable: ${UNAVAILABLE}`,
          false,
        );
      const modelName = input.model ?? defaultModel;
      return {
        model: models(modelName),
        modelName,
        ...(input.system ? { system: input.system } : {}),
        messages: toModelMessages(input.prompt, input.messages ?? ctx.history),
        maxSteps: input.maxSteps ?? config.maxSteps,
        ...(input.maxTokens ? { maxOutputTokens: input.maxTokens } : {}),
        ...(input.reasoning && api === "responses"
          ? { providerOptions: { openai: { reasoningSummary: "auto" } } }
          : {}),
      };
    },
  });
}

/** `chat` for a named server unless OPENAI_API says otherwise; OpenAI itself gets the Responses API. */
function openAiApi(endpoint: LlmEndpoint): "responses" | "chat" {
  return endpoint.api ?? (endpoint.baseUrl ? "chat" : "responses");
}

function modelFactory(endpoint: LlmEndpoint, api: "responses" | "chat"): (name: string) => LanguageModel {
  const baseURL = endpoint.baseUrl ?? OPENAI_URL;
  if (api === "responses") {
    // Key and URL explicit: the provider never reads process.env itself (it reads no env for the org).
    const openai = createOpenAI({ apiKey: endpoint.apiKey ?? "no-key", baseURL });
    return (name) => openai.responses(name);
  }
  // Local servers need no key; sending none keeps a placeholder out of their logs.
  const compatible = createOpenAICompatible({
    name: "openai",
    baseURL,
    ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}),
    includeUsage: true,
  });
  return (name) => compatible.chatModel(name);
}
