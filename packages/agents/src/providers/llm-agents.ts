import type { Agent } from "../types.js";
import { createAnthropicAgent } from "./anthropic-agent.js";
import type { LlmAgentDeps, LlmConfig } from "./llm-config.js";
import { createOpenAiAgent } from "./openai-agent.js";

/**
 * The `anthropic` and `openai` agents, always both: one without its key is listed as unavailable
 * (with the variable to set) rather than missing. Pass the worker config's `providers`.
 */
export function createLlmAgents(config: LlmConfig, deps: LlmAgentDeps): Agent[] {
  return [createAnthropicAgent(config, deps) as Agent, createOpenAiAgent(config, deps) as Agent];
}
